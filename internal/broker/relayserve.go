package broker

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// AgentRelay is the server's side of the relay: it replays relayed agent
// requests into the agent API in-process and replies.
type AgentRelay struct {
	Handler http.Handler // the agent API's routes
	// Annotate marks a request as relayed by poller of zone (the agent API
	// then serves only hosts of that zone).
	Annotate func(r *http.Request, zone, poller string) *http.Request
	Log      *slog.Logger
}

const (
	// relayMax bounds the relayed requests served at once (long polls
	// included); beyond, a request is answered 503.
	relayMax = 4096
	// relayHold bounds one relayed request on the server (a long poll
	// holds at most 60 s).
	relayHold = 90 * time.Second
)

// ServeAgents answers relayed agent requests (queue group AgentQueue, so
// that one server answers each) until ctx ends.
func ServeAgents(ctx context.Context, nc *nats.Conn, ar AgentRelay) error {
	if ar.Log == nil {
		ar.Log = slog.New(slog.DiscardHandler)
	}
	sem := make(chan struct{}, relayMax)
	live := &inflight{cancels: map[string]context.CancelFunc{}}
	sub, err := nc.QueueSubscribe(AgentSubjects, AgentQueue, func(m *nats.Msg) {
		if id := m.Header.Get(hdrCancel); id != "" {
			live.cancel(m.Subject + "/" + id)
			return
		}
		select {
		case sem <- struct{}{}:
		default:
			respond(m, ErrorReply(http.StatusServiceUnavailable, "the server is serving too many relayed agent requests; send it again"))
			return
		}
		go func() { defer func() { <-sem }(); ar.serve(ctx, nc, m, live) }()
	})
	if err != nil {
		return err
	}
	ar.Log.Info("broker: answering agent requests relayed by the pollers", "subject", AgentSubjects)
	<-ctx.Done()
	if err := sub.Unsubscribe(); err != nil {
		return err
	}
	// Once the broker has the unsubscription, new requests go to the
	// next leader (or are answered "no responders") instead of here.
	return nc.FlushTimeout(time.Second)
}

func (ar AgentRelay) serve(ctx context.Context, nc *nats.Conn, m *nats.Msg, live *inflight) {
	zone := AgentZone(m.Subject)
	r, poller, err := decodeRequest(m)
	if err == nil && zone == "" {
		err = errNoZone
	}
	if err != nil {
		ar.Log.Warn("broker: relayed agent request refused", "subject", m.Subject, "err", err)
		respond(m, ErrorReply(http.StatusBadRequest, "relayed request refused: "+err.Error()))
		return
	}
	rctx, cancel := context.WithTimeout(ctx, relayHold)
	defer cancel()
	if id := m.Header.Get(hdrID); id != "" {
		defer live.add(m.Subject+"/"+id, cancel)()
	}
	w := &replyWriter{header: http.Header{}}
	ar.Handler.ServeHTTP(w, ar.Annotate(r.WithContext(rctx), zone, poller))
	rp := Reply{Status: w.status, Header: w.header, Body: w.body}
	switch {
	case ctx.Err() != nil:
		rp = ErrorReply(http.StatusServiceUnavailable, "the server stopped leading while answering; send it again")
	case rp.Status == 0:
		rp.Status = http.StatusOK
	}
	if int64(len(rp.Body)+RelayHeaderRoom) > nc.MaxPayload() {
		rp = ErrorReply(http.StatusBadGateway, "the server's answer of "+strconv.Itoa(len(rp.Body))+" bytes is over the broker's max payload")
	}
	respond(m, rp)
}

// inflight are the relayed requests being served, by subject and ID.
type inflight struct {
	mu      sync.Mutex
	cancels map[string]context.CancelFunc
}

// add registers a request's cancel; the returned function removes it.
func (f *inflight) add(key string, cancel context.CancelFunc) func() {
	f.mu.Lock()
	f.cancels[key] = cancel
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		delete(f.cancels, key)
		f.mu.Unlock()
	}
}

func (f *inflight) cancel(key string) {
	f.mu.Lock()
	c := f.cancels[key]
	f.mu.Unlock()
	if c != nil {
		c()
	}
}

var errNoZone = errors.New("the subject names no zone")

func respond(m *nats.Msg, rp Reply) {
	_ = m.RespondMsg(encodeReply(rp))
}

// ErrorReply is an answer with a reason, as the agent API gives one; 503
// carries Retry-After.
func ErrorReply(status int, msg string) Reply {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "5")
	}
	return Reply{Status: status, Header: h, Body: append(b, '\n')}
}

// Write writes the reply as an HTTP answer.
func (rp Reply) Write(w http.ResponseWriter) {
	for k, v := range rp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(rp.Status)
	_, _ = w.Write(rp.Body)
}

// replyWriter keeps what the agent API answers.
type replyWriter struct {
	header http.Header
	status int
	body   []byte
}

func (w *replyWriter) Header() http.Header { return w.header }

func (w *replyWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *replyWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.body = append(w.body, b...)
	return len(b), nil
}
