// Package api serves mamori's HTTP API: /healthz, /metrics and the
// authenticated /api/v1/ routes.
package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/mamori/mamori/internal/alerting"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/engine"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/metrics"
	"github.com/mamori/mamori/internal/metrics/promapi"
	"github.com/mamori/mamori/internal/report"
)

// Reloader re-reads the configuration and applies it.
type Reloader func() (*config.Config, error)

// Server is the HTTP API.
type Server struct {
	eng    *engine.Engine
	cfg    func() *config.Config
	st     Store
	tix    Tickets
	bus    *event.Bus
	log    *slog.Logger
	reload Reloader
	toks   atomic.Pointer[Tokens]
	// metricsTok is the SHA-256 of http.metrics_token (nil: none).
	metricsTok atomic.Pointer[[32]byte]
	alert      *alerting.Service // nil: the incident routes answer 503
	users      UserTokens        // per-user API tokens; nil = config tokens only
	recov      Recoverer         // nil: the recover routes answer 503
	reports    *report.Service   // nil: the report routes answer 503
	adminTok   string
	clustered  bool // on a database shared with other servers
	mux        *http.ServeMux
	apiMux     *http.ServeMux // the authenticated /api/v1/ routes
}

// Deps is what the API is built on.
type Deps struct {
	Engine  *engine.Engine
	Config  func() *config.Config // the configuration in force
	Store   Store
	Tickets Tickets    // nil: the ticket routes answer 501
	Events  *event.Bus // the live stream
	Log     *slog.Logger
	Reload  Reloader // nil: reloading is refused

	// AdminToken is an operator token outside the config (the server's
	// MAMORI_ADMIN_TOKEN or DATA_DIR/admin.token); "" for none.
	AdminToken string
	Metrics    *metrics.Store    // nil: no Prometheus query API
	Alerting   *alerting.Service // nil: incidents, acknowledgements and hooks answer 503
	Users      UserTokens        // nil: config tokens only
	Recovery   Recoverer         // nil: the recover routes answer 503
	Reports    *report.Service   // nil: the report routes answer 503
	// Clustered: the store is a database other servers may share
	// (PostgreSQL); the status says which server leads.
	Clustered bool
}

// New builds the API.
func New(d Deps) *Server {
	s := &Server{eng: d.Engine, cfg: d.Config, st: d.Store, tix: d.Tickets, bus: d.Events, log: d.Log, reload: d.Reload,
		alert: d.Alerting, users: d.Users, recov: d.Recovery, reports: d.Reports, adminTok: d.AdminToken,
		clustered: d.Clustered, mux: http.NewServeMux()}
	s.SetTokens(d.Config())
	s.routes()
	if d.Metrics != nil {
		s.serveMetrics(d.Metrics)
	}
	return s
}

// SetTokens rebuilds the token table from config (on a reload) and the
// admin token.
func (s *Server) SetTokens(cfg *config.Config) {
	var ts []Token
	if s.adminTok != "" {
		ts = append(ts, Token{Secret: s.adminTok, Principal: Principal{Name: "MAMORI_ADMIN_TOKEN", Role: RoleOperator}})
	}
	for _, t := range cfg.APITokens {
		ts = append(ts, Token{Secret: t.Token.Reveal(), Principal: Principal{Name: t.Name, Role: Role(t.Role), Tenant: t.Tenant}})
	}
	s.toks.Store(NewTokens(ts))
	s.SetMetricsToken(cfg.HTTP.MetricsToken.Reveal())
}

func (s *Server) tokens() *Tokens { return s.toks.Load() }

// Mount lets another package register routes on the outer mux, outside the
// user-token authentication of /api/v1/ (they authenticate on their own).
func (s *Server) Mount(register func(mux *http.ServeMux)) { register(s.mux) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /metrics", s.metrics)
	api := http.NewServeMux()
	s.apiMux = api
	api.HandleFunc("GET /api/v1/status", require(RoleViewer, s.status))
	api.HandleFunc("GET /api/v1/checks", require(RoleViewer, s.listChecks))
	api.HandleFunc("GET /api/v1/checks/{name...}", require(RoleViewer, s.getCheck))
	api.HandleFunc("POST /api/v1/run/{name...}", require(RoleOperator, s.runCheck))
	api.HandleFunc("GET /api/v1/events", require(RoleViewer, s.listEvents))
	api.HandleFunc("GET /api/v1/events/stream", require(RoleViewer, s.streamEvents))
	api.HandleFunc("POST /api/v1/reload", require(RoleOperator, s.postReload))
	s.incidentRoutes(api)
	s.ticketRoutes(api)
	s.maintenanceRoutes(api)
	s.runbookRoutes(api)
	s.recoverRoutes(api)
	s.reportRoutes(api)
	api.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API route: "+r.Method+" "+r.URL.Path)
	})
	s.mux.Handle("/api/v1/", s.authenticate(api))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "checks": len(s.cfg().Checks), "role": s.role()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

type apiError struct {
	Error   string   `json:"error"`
	Details []string `json:"details,omitempty"`
}

func writeError(w http.ResponseWriter, code int, msg string, details ...string) {
	writeJSON(w, code, apiError{Error: msg, Details: details})
}

// queryInt reads a bounded integer query parameter.
func queryInt(r *http.Request, key string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, errors.New(key + " must be an integer from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi))
	}
	return n, nil
}

// queryTime reads an RFC 3339 time (or Unix seconds) query parameter.
func queryTime(r *http.Request, key string) (time.Time, error) {
	v := r.URL.Query().Get(key)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	return time.Time{}, errors.New(key + " must be an RFC 3339 time (2026-11-01T03:00:00Z) or Unix seconds")
}

// serveMetrics serves the Prometheus-compatible query API (query,
// query_range, labels, series) on the time-series store, behind the same
// authentication; a tenant's caller sees only its tenant's series.
func (s *Server) serveMetrics(st *metrics.Store) {
	promapi.Routes(s.apiMux, st, func(r *http.Request) (string, bool) {
		p := PrincipalFrom(r.Context())
		return p.Tenant, p.Role.AtLeast(RoleViewer)
	})
}
