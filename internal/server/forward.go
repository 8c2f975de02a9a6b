package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mamori/mamori/internal/agentapi"
	"github.com/mamori/mamori/internal/httpserve"
	"github.com/mamori/mamori/internal/store/sqlstore"
)

// A follower forwards what only the leader can do — the agent API, job
// pushes, runs and recoveries — to the leader's advertise_url, which the
// leader records in the database when it takes the lead (docs/ha.md).

// leaderAddrTTL is how long a follower keeps the leader's address it read.
const leaderAddrTTL = 2 * time.Second

// forwarder is the server's forwarding side: on the leader it takes the
// forwarded client address, on a follower it forwards.
type forwarder struct {
	self    string // this server's advertise_url ("": none)
	id      string // this process's random id, recorded with the address
	key     []byte // forwardKey of the shared signing key
	leading func() bool
	read    func(context.Context) (sqlstore.LeaderAddr, bool, error)
	tr      http.RoundTripper
	log     *slog.Logger
	now     func() time.Time
	// count is mamori_forwarded_requests_total{result}: forwarded (the
	// leader answered), unreachable (503), local (no leader to forward to).
	count *prometheus.CounterVec

	mu     sync.Mutex
	cached sqlstore.LeaderAddr
	ok     bool
	at     time.Time
}

// newForwarder builds the forwarder; caFile ("": the system's) verifies an
// https leader.
func newForwarder(self, caFile string, secret []byte, leading func() bool,
	read func(context.Context) (sqlstore.LeaderAddr, bool, error), log *slog.Logger) (*forwarder, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pool, err := httpserve.LoadCAFile(caFile)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = pool
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	tr := &http.Transport{DialContext: (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig: tc, TLSHandshakeTimeout: 5 * time.Second, ForceAttemptHTTP2: true,
		ResponseHeaderTimeout: agentapi.MaxPollWait + 15*time.Second, // a hung leader: 503 (the long poll answers within its wait)
		MaxIdleConnsPerHost:   64, IdleConnTimeout: 90 * time.Second}
	return &forwarder{self: self, id: hex.EncodeToString(id), key: forwardKey(secret), leading: leading, read: read,
		tr: tr, log: log, now: time.Now, count: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_forwarded_requests_total",
			Help: "Requests a follower forwarded to the leader (result forwarded), could not (unreachable: answered 503) or kept for want of a leader's advertise_url (local: answered 503)."},
			[]string{"result"})}, nil
}

// leaderOnly: what a follower cannot do itself (the API answers 503; the
// console's "run now" would ask the follower's idle scheduler).
func leaderOnly(r *http.Request) bool {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/api/v1/agent/"), strings.HasPrefix(p, "/api/v1/push/"):
		return true
	case r.Method == http.MethodPost:
		return strings.HasPrefix(p, "/api/v1/run/") || strings.HasPrefix(p, "/api/v1/recover/") || strings.HasPrefix(p, "/run/")
	}
	return false
}

// forwardedKey marks a request that came with the forwarding header: it
// is never forwarded again.
type forwardedKey struct{}

// arrive, outside the client-certificate check, takes what a follower
// forwarded: the client's address (and, on TLS, that the follower verified
// the client's certificate) when the header verifies and is fresh;
// otherwise the TCP peer's address stays. The header is dropped.
func (f *forwarder) arrive(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, sent := r.Header[forwardHeader]; !sent {
			next.ServeHTTP(w, r)
			return
		}
		v := r.Header.Get(forwardHeader)
		r.Header.Del(forwardHeader)
		ctx := context.WithValue(r.Context(), forwardedKey{}, true)
		if c, ok := verifyForward(f.key, v, r.Method, r.URL.Path, f.now()); ok {
			r.RemoteAddr = c.addr
			if c.cert && r.TLS != nil {
				ctx = httpserve.WithClientVerified(ctx)
			}
		} else {
			f.log.Warn("forwarded client address refused (bad signature or stale); the peer's address is kept", "remote", r.RemoteAddr, "path", r.URL.Path)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// wrap forwards, on a follower, what only the leader can do (never a
// request that arrived forwarded).
func (f *forwarder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(forwardedKey{}) != nil || !leaderOnly(r) || f.leading() {
			next.ServeHTTP(w, r)
			return
		}
		f.forward(w, r, next)
	})
}

// forward sends the request to the leader and streams its answer back;
// without a leader to forward to, next answers (the follower's 503).
func (f *forwarder) forward(w http.ResponseWriter, r *http.Request, next http.Handler) {
	la, ok := f.target(r.Context())
	target, err := url.Parse(la.URL)
	if !ok || err != nil {
		f.count.WithLabelValues("local").Inc()
		next.ServeHTTP(w, r)
		return
	}
	// A long poll outlives the server's write timeout (as on the leader).
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(agentapi.MaxPollWait + 30*time.Second))
	client := forwarded{addr: r.RemoteAddr, cert: r.TLS != nil && len(r.TLS.VerifiedChains) > 0}
	p := &httputil.ReverseProxy{Transport: f.tr, FlushInterval: -1,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // the console's cross-origin check compares Origin with Host
			pr.Out.Header.Set(forwardHeader, signForward(f.key, client, pr.Out.Method, pr.Out.URL.Path, f.now()))
		},
		ModifyResponse: func(*http.Response) error { f.count.WithLabelValues("forwarded").Inc(); return nil },
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			f.count.WithLabelValues("unreachable").Inc()
			f.forget()
			f.log.Warn("forward to the leader failed", "leader", la.URL, "path", r.URL.Path, "err", err)
			refuseForward(w, "the leader at "+la.URL+" could not be reached ("+err.Error()+")")
		}}
	p.ServeHTTP(w, r)
}

// target is the leader to forward to: ok false when no leader recorded
// an advertise_url, or when the record names this server (never forward
// to oneself: a hand-over is under way).
func (f *forwarder) target(ctx context.Context) (sqlstore.LeaderAddr, bool) {
	la, ok := f.leader(ctx)
	return la, ok && la.URL != "" && la.Server != f.id && !sameURL(la.URL, f.self)
}

func sameURL(a, b string) bool {
	return a != "" && strings.TrimSuffix(a, "/") == strings.TrimSuffix(b, "/")
}

// leader reads the leader's address, at most every leaderAddrTTL.
func (f *forwarder) leader(ctx context.Context) (sqlstore.LeaderAddr, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now := f.now(); now.Sub(f.at) >= leaderAddrTTL {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		la, ok, err := f.read(rctx)
		if err != nil {
			f.log.Warn("reading the leader's address", "err", err)
		}
		f.cached, f.ok, f.at = la, ok && err == nil, now
	}
	return f.cached, f.ok
}

// forget makes the next request read the leader's address again.
func (f *forwarder) forget() {
	f.mu.Lock()
	f.at = time.Time{}
	f.mu.Unlock()
}

// announce records this server as the leader (its advertise_url, "" for
// none: followers then answer 503 instead of forwarding to a former one).
func (f *forwarder) announce(ctx context.Context, put func(context.Context, sqlstore.LeaderAddr) error) {
	la := sqlstore.LeaderAddr{URL: f.self, Server: f.id, Since: f.now().UTC()}
	if err := put(ctx, la); err != nil {
		f.log.Error("leadership: recording this server's address for the followers", "err", err)
	}
}

// refuseForward is the follower's 503 when it cannot forward.
func refuseForward(w http.ResponseWriter, why string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"error": "this server is a follower and cannot forward this to the leading server of the database: " + why + "; send it again"})
}
