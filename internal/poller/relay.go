package poller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/mamori/mamori/internal/broker"
)

// The agent relay (--agent-listen): agents inside the customer network
// use this poller as their server (mamori agent --server
// http://POLLER:PORT); it relays their requests over its broker connection
// to the leading server (internal/broker, relay.go) and hands back the
// answers. While the link or the server is away it answers 503 with
// Retry-After: the agent keeps its batches in its spool and sends them
// again.

const (
	// relayTimeout bounds a relayed request other than a long poll (the
	// agent gives up after 60 s). A request the leader took just before it
	// died is never answered: the agent learns it (503) after this long
	// and sends its batch again; a batch stored meanwhile is acknowledged
	// as already stored (its Seq), so a short bound costs nothing.
	relayTimeout = 20 * time.Second
	// pollHoldMax is the longest long poll the server holds
	// (agentapi.MaxPollWait); pollHoldDefault the one without ?wait.
	pollHoldMax     = 60 * time.Second
	pollHoldDefault = 30 * time.Second
	// pollMargin is what a relayed long poll waits beyond its hold (the
	// agent waits 30 s beyond it).
	pollMargin = 15 * time.Second
)

// agentHandler serves the agent API's paths by relaying them.
func (p *Poller) agentHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		outcome := p.relay(w, r)
		p.m.relayed.WithLabelValues(outcome).Inc()
	})
}

// relay relays one request and returns its outcome (for the metric).
func (p *Poller) relay(w http.ResponseWriter, r *http.Request) string {
	if !broker.RelayedPath(r.URL.Path) {
		broker.ErrorReply(http.StatusNotFound, "this poller relays only the agent API: /api/v1/agent/{hello,batch,poll,respond} and /api/v1/push/{token}").Write(w)
		return "not_found"
	}
	if !p.nc.IsConnected() {
		p.unavailable(w, r, "poller "+p.o.Name+" is not connected to the centre's broker; the agent keeps its data and sends it again")
		return "link_down"
	}
	limit := p.nc.MaxPayload() - broker.RelayHeaderRoom
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil || r.ContentLength > limit {
		msg := fmt.Sprintf("the body is over the relay's limit of %d bytes (the broker's max_payload %d less %d for the relay's headers)", limit, p.nc.MaxPayload(), broker.RelayHeaderRoom)
		if !errors.As(err, new(*http.MaxBytesError)) && err != nil {
			broker.ErrorReply(http.StatusBadRequest, "reading the body: "+err.Error()).Write(w)
			return "bad_request"
		}
		broker.ErrorReply(http.StatusRequestEntityTooLarge, msg).Write(w)
		p.log.Warn("agent request too large to relay", "path", logPath(r), "remote", r.RemoteAddr, "limit", limit)
		return "too_large"
	}
	ctx, cancel := context.WithTimeout(r.Context(), holdOf(r))
	defer cancel()
	down := p.linkWatch()
	defer context.AfterFunc(down, cancel)()
	msg := broker.RelayRequest(p.o.Zone, p.o.Name, r, body)
	reply, err := p.nc.RequestMsgWithContext(ctx, msg)
	if err != nil && r.Context().Err() != nil && down.Err() == nil {
		_ = p.nc.PublishMsg(broker.CancelRequest(msg)) // the agent hung up: the server lets go
		return "gone"
	}
	if err != nil && down.Err() != nil {
		p.unavailable(w, r, "poller "+p.o.Name+" lost its link to the centre's broker while relaying; the agent keeps its data and sends it again")
		return "link_down"
	}
	if err != nil {
		return p.relayFailed(w, r, err)
	}
	rp, err := broker.DecodeReply(reply)
	if err != nil {
		broker.ErrorReply(http.StatusBadGateway, err.Error()).Write(w)
		return "bad_reply"
	}
	rp.Write(w)
	return "relayed"
}

// relayLink follows the broker link: a request relayed when it goes down
// is answered 503 at once instead of at its timeout.
func (p *Poller) relayLink(up bool) {
	p.linkMu.Lock()
	defer p.linkMu.Unlock()
	if up == p.linkUp {
		return
	}
	p.linkUp = up
	if up {
		p.linkDown = make(chan struct{})
	} else {
		close(p.linkDown)
	}
}

// linkWatch is a context that ends when the link goes down (done already
// while it is down).
func (p *Poller) linkWatch() context.Context {
	p.linkMu.Lock()
	defer p.linkMu.Unlock()
	return chanContext(p.linkDown)
}

// logPath is the request's path for the log: a push token stays out.
func logPath(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, "/api/v1/push/") {
		return "/api/v1/push/{token}"
	}
	return r.URL.Path
}

// holdOf is how long a relayed request may wait for its answer.
func holdOf(r *http.Request) time.Duration {
	if r.URL.Path != "/api/v1/agent/poll" {
		return relayTimeout
	}
	wait := pollHoldDefault
	if d, err := time.ParseDuration(r.URL.Query().Get("wait")); err == nil && d > 0 {
		wait = min(d, pollHoldMax)
	}
	return wait + pollMargin
}

func (p *Poller) relayFailed(w http.ResponseWriter, r *http.Request, err error) string {
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		p.unavailable(w, r, "no mamori server answers agent requests for zone "+p.o.Zone+" (none leads, or none is connected to the broker); the agent keeps its data and sends it again")
		return "no_server"
	case errors.Is(err, nats.ErrMaxPayload):
		broker.ErrorReply(http.StatusRequestEntityTooLarge, "the request is over the broker's max_payload").Write(w)
		return "too_large"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		p.unavailable(w, r, fmt.Sprintf("the server did not answer within %s; the agent keeps its data and sends it again", holdOf(r)))
		return "timeout"
	}
	p.unavailable(w, r, "relaying to the server failed: "+err.Error())
	return "failed"
}

func (p *Poller) unavailable(w http.ResponseWriter, r *http.Request, msg string) {
	p.log.Debug("agent request not relayed", "path", logPath(r), "remote", r.RemoteAddr, "reason", msg)
	broker.ErrorReply(http.StatusServiceUnavailable, msg).Write(w)
}

// serveAgents serves the agent relay on o.Agents until ctx ends.
func (p *Poller) serveAgents(ctx context.Context) {
	if p.o.Agents == nil {
		return
	}
	srv := &http.Server{Handler: p.agentHandler(), TLSConfig: p.o.AgentTLS, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		var err error
		if p.o.AgentTLS != nil {
			err = srv.ServeTLS(p.o.Agents, "", "")
		} else {
			err = srv.Serve(p.o.Agents)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Error("agent relay stopped", "err", err)
		}
	}()
	p.log.Info("relaying agent requests to the server", "listen", p.o.Agents.Addr().String(), "tls", p.o.AgentTLS != nil)
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	_ = srv.Close()
}

// chanContext is a context done when ch is closed.
type chanContext chan struct{}

func (c chanContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c chanContext) Done() <-chan struct{}       { return c }
func (c chanContext) Value(any) any               { return nil }
func (c chanContext) Err() error {
	select {
	case <-c:
		return context.Canceled
	default:
		return nil
	}
}
