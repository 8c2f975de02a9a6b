package agentapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/mamori/mamori/internal/wire"
)

// maxRespondBody bounds an agent's Response (its output is a bounded tail).
const maxRespondBody = 256 << 10

type pendingReq struct {
	host      string
	req       wire.Request
	resp      chan wire.Response // buffered: the answer
	delivered bool               // handed to a poll
}

type queue struct {
	items  []*pendingReq
	signal chan struct{} // closed when an item is added
}

func (a *API) queueOf(host string) *queue {
	q, ok := a.queues[host]
	if !ok {
		q = &queue{signal: make(chan struct{})}
		a.queues[host] = q
	}
	return q
}

// ErrUnknownHost is returned by Send for a host not in the configuration.
var ErrUnknownHost = errors.New("agentapi: no such host")

// Send queues a request for a host's agent, waits for its answer, and
// returns it; or ctx's error if ctx ends first (the request is then
// withdrawn if no agent has taken it yet). An empty ID is filled in.
func (a *API) Send(ctx context.Context, host string, req wire.Request) (wire.Response, error) {
	cfg := a.config()
	if cfg == nil {
		return wire.Response{}, errNoConfig
	}
	if cfg.Host(host) == nil {
		return wire.Response{}, fmt.Errorf("%w %q", ErrUnknownHost, host)
	}
	switch req.Kind {
	case "action", "recheck", "config":
	default:
		return wire.Response{}, fmt.Errorf("agentapi: request kind %q is not action, recheck or config", req.Kind)
	}
	if req.ID == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		req.ID = hex.EncodeToString(b)
	}
	p := &pendingReq{host: host, req: req, resp: make(chan wire.Response, 1)}
	a.qmu.Lock()
	if _, dup := a.pending[req.ID]; dup {
		a.qmu.Unlock()
		return wire.Response{}, fmt.Errorf("agentapi: a request with ID %q is already pending", req.ID)
	}
	a.pending[req.ID] = p
	q := a.queueOf(host)
	q.items = append(q.items, p)
	close(q.signal)
	q.signal = make(chan struct{})
	a.qmu.Unlock()

	select {
	case resp := <-p.resp:
		a.m.requests.WithLabelValues("answered").Inc()
		return resp, nil
	case <-ctx.Done():
		a.qmu.Lock()
		delete(a.pending, req.ID)
		if !p.delivered {
			q := a.queueOf(host)
			for i, it := range q.items {
				if it == p {
					q.items = append(q.items[:i], q.items[i+1:]...)
					break
				}
			}
		}
		a.qmu.Unlock()
		select {
		case resp := <-p.resp: // answered at the last moment
			a.m.requests.WithLabelValues("answered").Inc()
			return resp, nil
		default:
		}
		outcome := "cancelled"
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			outcome = "timeout"
		}
		a.m.requests.WithLabelValues(outcome).Inc()
		return wire.Response{}, ctx.Err()
	}
}

// parseWait reads ?wait= as a duration ("30s") or seconds ("30"), capped
// at MaxPollWait.
func parseWait(v string) (time.Duration, error) {
	if v == "" {
		return DefaultPollWait, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, err2 := strconv.ParseFloat(v, 64)
		if err2 != nil || n != n {
			return 0, fmt.Errorf("wait=%q is not a duration (30s) or a number of seconds", v)
		}
		d = time.Duration(n * float64(time.Second))
	}
	if d < 0 {
		return 0, fmt.Errorf("wait=%q is negative", v)
	}
	return min(d, MaxPollWait), nil
}

func (a *API) poll(w http.ResponseWriter, r *http.Request) {
	const route = "poll"
	host, ok := a.auth(w, r, route)
	if !ok {
		return
	}
	wait, err := parseWait(r.URL.Query().Get("wait"))
	if err != nil {
		a.reject(w, r, route, host, http.StatusBadRequest, "bad_query", err.Error())
		return
	}
	// The long poll outlives the server's write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(wait + 30*time.Second))
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		a.qmu.Lock()
		q := a.queueOf(host)
		if len(q.items) > 0 {
			p := q.items[0]
			q.items = q.items[1:]
			p.delivered = true
			a.qmu.Unlock()
			writeJSON(w, http.StatusOK, p.req)
			return
		}
		sig := q.signal
		a.qmu.Unlock()
		select {
		case <-sig:
		case <-timer.C:
			a.touch(host, "") // the agent was here all along
			w.WriteHeader(http.StatusNoContent)
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (a *API) respond(w http.ResponseWriter, r *http.Request) {
	const route = "respond"
	host, ok := a.auth(w, r, route)
	if !ok {
		return
	}
	body, code, msg := readBody(w, r, maxRespondBody)
	if code != 0 {
		a.reject(w, r, route, host, code, reasonFor(code), msg)
		return
	}
	var resp wire.Response
	if err := decodeStrict(body, &resp); err != nil {
		a.reject(w, r, route, host, http.StatusBadRequest, "bad_json", "malformed response: "+err.Error())
		return
	}
	if resp.ID == "" {
		a.reject(w, r, route, host, http.StatusBadRequest, "invalid", "response without id")
		return
	}
	if resp.Duration < 0 || resp.Duration != resp.Duration {
		a.reject(w, r, route, host, http.StatusBadRequest, "invalid", "response duration must not be negative")
		return
	}
	a.qmu.Lock()
	p, ok := a.pending[resp.ID]
	if ok && (p.host != host || !p.delivered) {
		ok = false // another host's request, or one not handed out: not this agent's to answer
	}
	if ok {
		delete(a.pending, resp.ID)
	}
	a.qmu.Unlock()
	if !ok {
		a.reject(w, r, route, host, http.StatusNotFound, "unknown_id", "no pending request "+strconv.Quote(cut(resp.ID, 100))+" for this host (answered already, withdrawn, or never sent)")
		return
	}
	resp.Output = cut(resp.Output, wire.MaxLongBytes)
	p.resp <- resp
	w.WriteHeader(http.StatusNoContent)
}
