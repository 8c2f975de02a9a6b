package agent

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/wire"
)

// fakeServer implements the four agent routes strictly: the token, POST/GET,
// gzip on batches, strict JSON, Seq ordering (duplicates ignored, never a
// lower Seq stored after a higher one).
type fakeServer struct {
	t     *testing.T
	token string
	srv   *httptest.Server

	mu         sync.Mutex
	down       bool
	config     wire.AgentConfig
	hellos     []wire.Hello
	lastSeq    uint64
	stored     []wire.Batch
	duplicates int
	gaps       int
	violations []string

	requests  chan wire.Request
	responses chan wire.Response
}

func newFakeServer(t *testing.T, token string, cfg wire.AgentConfig) *fakeServer {
	f := &fakeServer{t: t, token: token, config: cfg, requests: make(chan wire.Request, 16), responses: make(chan wire.Response, 16)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) setDown(d bool) {
	f.mu.Lock()
	f.down = d
	f.mu.Unlock()
}

func (f *fakeServer) violation(format string, args ...any) {
	f.mu.Lock()
	f.violations = append(f.violations, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down { // unreachable: the connection just dies
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		f.violation("%s without the right token: %q", r.URL.Path, r.Header.Get("Authorization"))
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	route := strings.TrimPrefix(r.URL.Path, "/api/v1/agent/")
	want := map[string]string{"hello": "POST", "batch": "POST", "poll": "GET", "respond": "POST"}[route]
	if want == "" || r.Method != want {
		f.violation("%s %s", r.Method, r.URL.Path)
		http.Error(w, "no such route", http.StatusNotFound)
		return
	}
	switch route {
	case "hello":
		var h wire.Hello
		d := json.NewDecoder(r.Body)
		d.DisallowUnknownFields()
		if err := d.Decode(&h); err != nil || h.Version != wire.Version || h.Hostname == "" {
			f.violation("bad hello: %v %+v", err, h)
			http.Error(w, "bad hello", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.hellos = append(f.hellos, h)
		cfg := f.config
		f.mu.Unlock()
		json.NewEncoder(w).Encode(cfg)
	case "batch":
		if r.Header.Get("Content-Encoding") != "gzip" {
			f.violation("batch without gzip")
			http.Error(w, "want gzip", http.StatusBadRequest)
			return
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			f.violation("batch: bad gzip: %v", err)
			http.Error(w, "bad gzip", http.StatusBadRequest)
			return
		}
		var b wire.Batch
		d := json.NewDecoder(zr)
		d.DisallowUnknownFields()
		if err := d.Decode(&b); err != nil || b.Seq == 0 || b.Sent == 0 {
			f.violation("batch: %v seq=%d sent=%d", err, b.Seq, b.Sent)
			http.Error(w, "bad batch", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		if b.Seq <= f.lastSeq {
			f.duplicates++
		} else {
			if b.Seq != f.lastSeq+1 && f.lastSeq != 0 {
				f.gaps++ // legal only when the agent reports drops (in a later batch)
			}
			f.lastSeq = b.Seq
			f.stored = append(f.stored, b)
		}
		ack := wire.BatchAck{Seq: f.lastSeq, ConfigVersion: f.config.ConfigVersion}
		f.mu.Unlock()
		json.NewEncoder(w).Encode(ack)
	case "poll":
		wait, err := time.ParseDuration(r.URL.Query().Get("wait"))
		if err != nil || wait <= 0 || wait > time.Minute {
			f.violation("poll wait %q", r.URL.Query().Get("wait"))
			http.Error(w, "bad wait", http.StatusBadRequest)
			return
		}
		select {
		case req := <-f.requests:
			json.NewEncoder(w).Encode(req)
		case <-time.After(wait):
			w.WriteHeader(http.StatusNoContent)
		case <-r.Context().Done():
		}
	case "respond":
		var resp wire.Response
		d := json.NewDecoder(r.Body)
		d.DisallowUnknownFields()
		if err := d.Decode(&resp); err != nil || resp.ID == "" {
			f.violation("bad response: %v", err)
			http.Error(w, "bad response", http.StatusBadRequest)
			return
		}
		f.responses <- resp
		w.WriteHeader(http.StatusNoContent)
	}
}

// snapshot copies what was stored.
func (f *fakeServer) snapshot() (batches []wire.Batch, dups int, violations []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]wire.Batch(nil), f.stored...), f.duplicates, append([]string(nil), f.violations...)
}

func (f *fakeServer) results(check string) []wire.Result {
	bs, _, _ := f.snapshot()
	var out []wire.Result
	for _, b := range bs {
		for _, r := range b.Results {
			if r.Check == check {
				out = append(out, r)
			}
		}
	}
	return out
}

func (f *fakeServer) sampleCount(name string) int {
	bs, _, _ := f.snapshot()
	n := 0
	for _, b := range bs {
		for _, s := range b.Samples {
			if s.Name == name {
				n++
			}
		}
	}
	return n
}

func (f *fakeServer) request(t *testing.T, req wire.Request) wire.Response {
	t.Helper()
	f.requests <- req
	select {
	case resp := <-f.responses:
		if resp.ID != req.ID {
			t.Fatalf("response for %q, want %q", resp.ID, req.ID)
		}
		return resp
	case <-time.After(20 * time.Second):
		t.Fatalf("no response to %+v", req)
	}
	return wire.Response{}
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
