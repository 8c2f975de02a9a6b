// Package agentapi is the server side of the agent protocol (internal/wire)
// and of job reports (push checks):
//
//	POST /api/v1/agent/hello     Hello → AgentConfig
//	POST /api/v1/agent/batch     Batch → BatchAck (gzip allowed)
//	GET  /api/v1/agent/poll      long poll for a server→agent Request (200) or 204
//	POST /api/v1/agent/respond   Response → 204
//	POST /api/v1/push/{token}    a job's report → 202
//
// Agent routes authenticate the host by its token (Authorization: Bearer
// TOKEN): hosts[].agent_token from the config, or a token enrolled with
// `mamori host add` (only its SHA-256 is stored). Everything an agent sends
// is validated; whatever is refused is answered with a JSON reason, logged
// (without secrets) and counted.
package agentapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/wire"
)

// HostStore is where agent and job bookkeeping persists
// (internal/store/sqlite implements it).
type HostStore interface {
	// AgentTokens returns the SHA-256 of every enrolled token, by host.
	AgentTokens(ctx context.Context) (map[string][]byte, error)
	// AgentHosts lists what is known of every host's agent.
	AgentHosts(ctx context.Context) ([]store.AgentHost, error)
	// SetAgentSeen records the last contact (and hello info if not "").
	SetAgentSeen(ctx context.Context, host string, seen time.Time, info string) error
	// StoreAgentBatch records a stored batch: highest Seq, dropped counters added.
	StoreAgentBatch(ctx context.Context, host string, seq, droppedResults, droppedSamples uint64, seen time.Time) error
	// ResetAgentSeq sets a host's stored Seq (re-synchronisation).
	ResetAgentSeq(ctx context.Context, host string, seq uint64) error
	// SavePush records the last report of a push check.
	SavePush(ctx context.Context, checkName string, r check.Result, at time.Time) error
	// WatchPush records since when a push check waits for its first report (first call wins).
	WatchPush(ctx context.Context, checkName string, since time.Time) error
	// Pushes returns every push check's record.
	Pushes(ctx context.Context) ([]store.PushRecord, error)
}

// MetricsSink stores agent samples; the server adds host=<host>. It
// matches internal/metrics.(*Store).Append: an error with a Total() int
// method means only that many samples were refused and the rest stored;
// any other error means nothing was stored (the batch is then refused with
// 503 and the agent sends it again).
type MetricsSink interface {
	Append(host string, samples []wire.Sample) (accepted int, err error)
}

// API serves the agent and push routes.
type API struct {
	log     *slog.Logger
	hosts   HostStore
	sink    MetricsSink
	results Recorder
	rec     *Record
	cfg     func() *config.Config
	now     func() time.Time
	m       *Metrics

	authMu     sync.Mutex
	cfgToks    *tokenSet // from the config in force (rebuilt when it changes)
	cfgFor     *config.Config
	enrolled   *tokenSet
	enrolledAt time.Time
	loadedAt   time.Time

	mu         sync.Mutex
	seq        map[string]uint64
	hostLocks  map[string]*sync.Mutex
	hellos     map[string]time.Time // last hello per host (an agent (re)starting)
	actions    map[string][]string  // allowlist names per host, from its last hello
	noSinkOnce sync.Once

	secretMu sync.Mutex
	secret   []byte
	pushIdx  atomic.Pointer[pushIndex]

	qmu     sync.Mutex
	queues  map[string]*queue
	pending map[string]*pendingReq
}

// Tuning.
const (
	// seenPersistEvery bounds how often a host's last contact is written
	// to the store (it is exact in memory).
	seenPersistEvery = 15 * time.Second
	// tokenRefresh is how often enrolled tokens are re-read (a token added
	// or revoked by `mamori host add/revoke` takes effect within it).
	tokenRefresh = 5 * time.Second
	// tokenMissReload is the least time between re-reads caused by an
	// unknown token.
	tokenMissReload = time.Second
	// MaxPollWait is the longest long poll.
	MaxPollWait = 60 * time.Second
	// DefaultPollWait is the long poll without ?wait.
	DefaultPollWait = 30 * time.Second
	// maxSmallBody bounds hello, respond and push bodies.
	maxSmallBody = 64 << 10
	// maxReasons bounds BatchAck.Reasons.
	maxReasons = 50
	// MetricsInterval and Heartbeat are what Hello tells agents.
	MetricsInterval = 60 * time.Second
	Heartbeat       = 30 * time.Second
	// ProtocolHeader optionally carries the agent's wire.Version on every
	// request; a version the server does not speak is answered 426.
	ProtocolHeader = "X-Mamori-Protocol"
)

// Recorder takes a result into the pipeline (the engine's Record): it
// returns once the result is committed, or with the reason it was not.
type Recorder interface {
	Record(ctx context.Context, name string, r check.Result) (*state.Transition, error)
}

// Deps is what the agent API is built on.
type Deps struct {
	// Results records the results agents and jobs send (the engine).
	Results Recorder
	// Record is the record of contacts and reports the engine's checkers
	// read (built first with NewRecord, on the same Hosts).
	Record *Record
	// Config is the configuration in force (host tokens, agent checks).
	Config func() *config.Config
	Hosts  HostStore   // required
	Sink   MetricsSink // nil: samples are counted as discarded
	Log    *slog.Logger
	// Secret is the server's key push tokens are derived from: the one
	// every server of a shared database has (nil: DATA_DIR/secret.key,
	// read on first use, created if missing).
	Secret []byte
}

// New builds the API.
func New(d Deps) *API {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rec := d.Record
	if rec == nil {
		rec = NewRecord(d.Hosts, d.Config, log)
	}
	a := &API{log: log, results: d.Results, rec: rec, cfg: d.Config, hosts: d.Hosts, sink: d.Sink, now: time.Now, m: newMetrics(),
		seq:       map[string]uint64{},
		hostLocks: map[string]*sync.Mutex{}, queues: map[string]*queue{}, pending: map[string]*pendingReq{}}
	if d.Secret != nil {
		a.secret = append([]byte(nil), d.Secret...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if hs, err := d.Hosts.AgentHosts(ctx); err != nil {
		log.Error("agentapi: load agent hosts", "err", err)
	} else {
		for _, h := range hs {
			a.seq[h.Host] = h.LastSeq
		}
	}
	return a
}

// Metrics are the API's Prometheus collectors.
func (a *API) Metrics() *Metrics { return a.m }

// Routes registers the agent and push routes. They authenticate with
// their own tokens, so mux must route them before any user-token
// authentication (the patterns are more specific than "/api/v1/").
func (a *API) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/agent/hello", a.hello)
	mux.HandleFunc("POST /api/v1/agent/batch", a.batch)
	mux.HandleFunc("GET /api/v1/agent/poll", a.poll)
	mux.HandleFunc("POST /api/v1/agent/respond", a.respond)
	mux.HandleFunc("POST /api/v1/push/{token}", a.push)
}

// --- errors ---

type apiError struct {
	Error   string   `json:"error"`
	Details []string `json:"details,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// reject answers an error with its reason, logs it and counts it. host is
// "" when the caller is not (yet) known. reason is a fixed short word for
// the metric; msg is for people.
func (a *API) reject(w http.ResponseWriter, r *http.Request, route, host string, code int, reason, msg string, details ...string) {
	a.m.rejected.WithLabelValues(route, reason).Inc()
	lvl := slog.LevelWarn
	if code == http.StatusServiceUnavailable {
		lvl = slog.LevelError
	}
	attrs := []any{"route", route, "status", code, "reason", msg, "remote", r.RemoteAddr}
	if host != "" {
		attrs = append(attrs, "host", host)
	}
	if len(details) > 0 {
		attrs = append(attrs, "details", strings.Join(details[:min(len(details), 5)], "; "))
	}
	a.log.Log(r.Context(), lvl, "agentapi: request rejected", attrs...)
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mamori-agent"`)
	}
	if code == http.StatusUpgradeRequired {
		w.Header().Set("Upgrade", "mamori-agent/"+strconv.Itoa(wire.Version))
	}
	writeJSON(w, code, apiError{Error: msg, Details: details})
}

// --- authentication ---

type tokenSet struct {
	hosts []string
	sums  [][32]byte
}

func (ts *tokenSet) add(host string, sum [32]byte) {
	ts.hosts = append(ts.hosts, host)
	ts.sums = append(ts.sums, sum)
}

// match compares sum with every token in constant time per token (no early
// exit) and returns the hosts it belongs to.
func (ts *tokenSet) match(sum [32]byte, out []string) []string {
	if ts == nil {
		return out
	}
	for i := range ts.sums {
		if subtle.ConstantTimeCompare(sum[:], ts.sums[i][:]) == 1 {
			out = append(out, ts.hosts[i])
		}
	}
	return out
}

func (a *API) config() *config.Config { return a.cfg() }

// lookupToken finds the host of an agent token.
func (a *API) lookupToken(ctx context.Context, secret string) (host string, ambiguous bool) {
	sum := sha256.Sum256([]byte(secret))
	cfg := a.config()
	now := a.now()
	a.authMu.Lock()
	if cfg != a.cfgFor {
		ts := &tokenSet{}
		if cfg != nil {
			for _, h := range cfg.Hosts {
				if v := h.AgentToken.Reveal(); v != "" {
					ts.add(h.Name, sha256.Sum256([]byte(v)))
				}
			}
		}
		a.cfgToks, a.cfgFor = ts, cfg
	}
	cfgToks, enrolled, stale := a.cfgToks, a.enrolled, now.Sub(a.loadedAt) > tokenRefresh
	a.authMu.Unlock()

	var found []string
	found = cfgToks.match(sum, found)
	found = enrolled.match(sum, found)
	if len(found) == 0 || stale {
		// Unknown (maybe just enrolled) or due for a refresh.
		a.authMu.Lock()
		if stale || now.Sub(a.loadedAt) > tokenMissReload {
			a.loadedAt = now
			a.authMu.Unlock()
			if m, err := a.hosts.AgentTokens(ctx); err != nil {
				a.log.Error("agentapi: load agent tokens", "err", err)
			} else {
				ts := &tokenSet{}
				for h, b := range m {
					if len(b) == 32 {
						ts.add(h, [32]byte(b))
					}
				}
				a.authMu.Lock()
				a.enrolled = ts
				a.authMu.Unlock()
				enrolled = ts
			}
			found = cfgToks.match(sum, found[:0])
			found = enrolled.match(sum, found)
		} else {
			a.authMu.Unlock()
		}
	}
	switch {
	case len(found) == 0:
		return "", false
	case len(found) > 1:
		for _, h := range found[1:] {
			if h != found[0] {
				return "", true
			}
		}
	}
	return found[0], false
}

// auth authenticates an agent request and checks the protocol header. It
// answers the error itself (ok false).
func (a *API) auth(w http.ResponseWriter, r *http.Request, route string) (string, bool) {
	secret, ok := auth.BearerToken(r)
	if !ok || secret == "" {
		a.reject(w, r, route, "", http.StatusUnauthorized, "no_token", "authentication required: send Authorization: Bearer HOST_TOKEN")
		return "", false
	}
	host, ambiguous := a.lookupToken(r.Context(), secret)
	if ambiguous {
		a.reject(w, r, route, "", http.StatusUnauthorized, "ambiguous_token", "this token belongs to more than one host; give each host its own")
		return "", false
	}
	if host == "" {
		a.reject(w, r, route, "", http.StatusUnauthorized, "bad_token", "invalid agent token")
		return "", false
	}
	if a.config().Host(host) == nil {
		a.reject(w, r, route, host, http.StatusUnauthorized, "unknown_host", "host "+strconv.Quote(host)+" is not in the server's configuration")
		return "", false
	}
	if v := r.Header.Get(ProtocolHeader); v != "" && v != strconv.Itoa(wire.Version) {
		a.reject(w, r, route, host, http.StatusUpgradeRequired, "version", "protocol version "+strconv.Quote(v)+" is not spoken here: this server speaks version "+strconv.Itoa(wire.Version))
		return "", false
	}
	if a.zoneRefused(w, r, route, host, "host "+strconv.Quote(host)) {
		return "", false
	}
	a.touch(host, "")
	return host, true
}

// touch records an authenticated contact.
func (a *API) touch(host, info string) {
	now := a.now()
	persist := a.rec.seenAt(host, now, info != "")
	a.m.lastSeen.WithLabelValues(host).Set(float64(now.UnixMilli()) / 1000)
	if persist {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.hosts.SetAgentSeen(ctx, host, now, info); err != nil {
			a.log.Error("agentapi: record agent contact", "host", host, "err", err)
		}
	}
}

func (a *API) hostLock(host string) *sync.Mutex {
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := a.hostLocks[host]
	if !ok {
		l = &sync.Mutex{}
		a.hostLocks[host] = l
	}
	return l
}

// --- hello ---

// AgentConfig builds what a host's agent should do from a configuration.
func AgentConfig(cfg *config.Config, host string) wire.AgentConfig {
	ac := wire.AgentConfig{Host: host, MetricsInterval: wire.Duration(MetricsInterval), Heartbeat: wire.Duration(Heartbeat), Checks: []wire.CheckSpec{}}
	if h := cfg.Host(host); h != nil && h.MetricsInterval > 0 {
		ac.MetricsInterval = wire.Duration(h.MetricsInterval)
		ac.Heartbeat = wire.Duration(min(Heartbeat, h.MetricsInterval))
	}
	for _, c := range cfg.Checks {
		if c.Host != host || !c.OnAgent || c.Disabled {
			continue
		}
		ac.Checks = append(ac.Checks, wire.CheckSpec{Name: c.ShortName, Type: c.Type, Interval: wire.Duration(c.Interval),
			Retry: wire.Duration(c.RetryInterval), Timeout: wire.Duration(c.Timeout), YAML: c.YAML})
	}
	b, _ := json.Marshal(struct {
		M, H   wire.Duration
		Checks []wire.CheckSpec
	}{ac.MetricsInterval, ac.Heartbeat, ac.Checks})
	sum := sha256.Sum256(b)
	ac.ConfigVersion = hexString(sum[:8])
	return ac
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}

func (a *API) hello(w http.ResponseWriter, r *http.Request) {
	const route = "hello"
	host, ok := a.auth(w, r, route)
	if !ok {
		return
	}
	body, code, msg := readBody(w, r, maxSmallBody)
	if code != 0 {
		a.reject(w, r, route, host, code, reasonFor(code), msg)
		return
	}
	var h wire.Hello
	if err := decodeStrict(body, &h); err != nil {
		a.reject(w, r, route, host, http.StatusBadRequest, "bad_json", "malformed hello: "+err.Error())
		return
	}
	if h.Version != wire.Version {
		a.reject(w, r, route, host, http.StatusUpgradeRequired, "version",
			"agent protocol version "+strconv.Itoa(h.Version)+" is not spoken here: this server speaks version "+strconv.Itoa(wire.Version))
		return
	}
	if details := validateHello(&h); len(details) > 0 {
		a.reject(w, r, route, host, http.StatusBadRequest, "invalid", "invalid hello: "+strings.Join(details, "; "), details...)
		return
	}
	info := strings.TrimSpace(h.Agent+" "+h.OS+"/"+h.Arch+" hostname="+h.Hostname) + via(r)
	a.touch(host, info)
	a.resync(r.Context(), host, h.Spool)
	a.mu.Lock()
	if a.hellos == nil {
		a.hellos = map[string]time.Time{}
	}
	a.hellos[host] = a.now()
	if a.actions == nil {
		a.actions = map[string][]string{}
	}
	a.actions[host] = append([]string(nil), h.Actions...)
	a.mu.Unlock()
	a.log.Info("agent hello", "host", host, "agent", h.Agent, "hostname", h.Hostname, "os", h.OS, "arch", h.Arch, "actions", len(h.Actions), "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, AgentConfig(a.config(), host))
}

func validateHello(h *wire.Hello) []string {
	var d []string
	short := func(field, v string, max int) {
		if len(v) > max {
			d = append(d, field+": longer than "+strconv.Itoa(max)+" bytes")
		}
		if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			d = append(d, field+": contains control characters")
		}
	}
	short("agent", h.Agent, 200)
	short("hostname", h.Hostname, 255)
	short("os", h.OS, 50)
	short("arch", h.Arch, 50)
	if len(h.Actions) > 1000 {
		d = append(d, "actions: more than 1000")
	}
	for i, act := range h.Actions {
		if act == "" || len(act) > 200 || strings.ContainsFunc(act, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			d = append(d, "actions["+strconv.Itoa(i)+"]: empty, too long or with control characters")
			break
		}
	}
	return d
}

// Passive is the record of agent contacts and job reports the API writes
// (the one given to New).
func (a *API) Passive() *Record { return a.rec }

var errNoConfig = errors.New("the server is starting")

// LastHello is when a host's agent last said hello (it does at every
// start): zero if not since this server started.
// AgentActions lists the names in a host's allowlist as its agent said in
// its last hello (ok false before any hello).
func (a *API) AgentActions(host string) ([]string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	names, ok := a.actions[host]
	return append([]string(nil), names...), ok
}

// LastHello is the time of a host's last hello.
func (a *API) LastHello(host string) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hellos[host]
}
