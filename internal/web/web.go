// Package web is mamori's console and customer portal: server-rendered
// pages (html/template, embedded) with a little JavaScript of our own and a
// vendored charting library (uPlot), served by `mamori server`. No build
// step, no CDN: it works offline.
//
// Security model:
//   - every page needs a session (cookie mamori_session, HttpOnly,
//     SameSite=Lax, Secure when configured); without one, pages redirect
//     to /login;
//   - every state-changing POST needs the session's CSRF token (hidden
//     field csrf_token); a missing or wrong token is 403;
//   - roles: admin (all), operator (all tenants, no user admin), customer
//     (own tenant: view, acknowledge, comment, request maintenance, open
//     tickets), viewer (own tenant, read-only); a role that may not do
//     something gets 403, whatever the object;
//   - tenant isolation: another tenant's host, check, incident, ticket,
//     runbook or maintenance window answers 404 like a missing one, in
//     pages, the live stream and graphs alike;
//   - everything that comes from monitored systems (check output, log
//     lines, HTTP bodies) is escaped by html/template; the only
//     template.HTML is runbook.RenderHTML's output (a safe markdown
//     subset);
//   - a strict Content-Security-Policy: no inline script or style.
package web

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/alerting"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/engine"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/incident"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

//go:embed i18n/*.json
var i18nFS embed.FS

// Cookie names.
const (
	SessionCookie = "mamori_session"
	LangCookie    = "lang"
	loginCookie   = "mamori_login" // pre-session CSRF token of the login and language forms
)

// PageSize is the number of rows of every list page.
const PageSize = 100

// maxPage bounds ?page= so that a page's work stays bounded.
const maxPage = 100

// ContentSecurityPolicy is sent with every response of the console.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// User is a logged-in user as the console sees it.
type User struct {
	Name     string
	Role     string // admin, operator, customer, viewer
	Tenant   string // the customer's tenant (customer and viewer)
	Lang     string // "ja", "en" or "" (from the browser)
	TimeZone string // IANA name, "" = the language's default
}

// Auth is the session service the console needs. The auth package's
// service satisfies it (through a small adapter if its shapes differ).
type Auth interface {
	// Login checks a password and opens a session. Throttling is the
	// service's business: an error with a RetryAfter method means the
	// client must wait (see RetryAfterError).
	Login(ctx context.Context, in LoginInput) (LoginOutcome, error)
	// Logout ends a session.
	Logout(ctx context.Context, sessionID string) error
	// SessionUser returns the user of a live session.
	SessionUser(ctx context.Context, sessionID string) (User, bool)
	// CSRFToken is the token to embed in a session's forms.
	CSRFToken(sessionID string) string
	// CheckCSRF verifies a submitted token (in constant time).
	CheckCSRF(sessionID, token string) bool
}

// UserAdmin is optionally implemented by Auth: the settings page lists
// users through it.
type UserAdmin interface {
	Users(ctx context.Context) ([]User, error)
}

// TokenLister is optionally implemented by Auth: the settings page lists
// API tokens (never their secrets) through it.
type TokenLister interface {
	Tokens(ctx context.Context) ([]TokenInfo, error)
}

// TokenInfo describes an API token without its secret.
type TokenInfo struct {
	User      string
	Label     string
	CreatedAt time.Time
	LastUsed  time.Time
	ExpiresAt time.Time
	Revoked   bool
}

// Point is one sample: T in Unix milliseconds.
type Point struct {
	T int64
	V float64
}

// Series is one time series of a range query.
type Series struct {
	Labels map[string]string
	Points []Point
}

// Matrix is the answer of a range query.
type Matrix []Series

// MetricsQuerier runs PromQL range queries on the time-series store,
// restricted to a tenant ("" = all tenants).
type MetricsQuerier interface {
	QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration, tenant string) (Matrix, error)
}

// Deps is what the console is built on.
type Deps struct {
	Engine   *engine.Engine
	Config   func() *config.Config // the configuration in force
	Alerting *alerting.Service     // nil: incidents are read-only, no runbooks or maintenance
	Events   *event.Bus            // the live stream of state changes
	// Store holds incidents, tickets, maintenance windows and runbook
	// versions; nil shows them as missing.
	Store         Store
	Auth          Auth
	Metrics       MetricsQuerier // nil: "no metrics store"
	Log           *slog.Logger
	SecureCookies bool
	// HostGraphs overrides the resource graphs of the host page; nil means
	// DefaultHostGraphs (node_exporter metric names with a host label).
	HostGraphs []Graph
}

// Console is the web console.
type Console struct {
	d        Deps
	log      *slog.Logger
	alerts   Incidents
	tickets  Tickets
	maint    Maintenances
	runbooks RunbookVersions
	pages    map[string]*pageTemplate
	cat      *catalog
	static   http.Handler
	graphs   []Graph
	now      func() time.Time

	avail availCache // the overview's availability, per scope

	hostMu  sync.Mutex
	hostCfg *config.Config
	hostIdx *hostIndex
}

// New builds the console.
func New(deps Deps) *Console {
	c := &Console{d: deps, log: deps.Log, now: time.Now, graphs: deps.HostGraphs}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.graphs == nil {
		c.graphs = DefaultHostGraphs
	}
	if deps.Store != nil {
		c.alerts, c.tickets, c.maint, c.runbooks = deps.Store, deps.Store, deps.Store, deps.Store
	}
	c.cat = mustCatalog()
	c.pages = mustTemplates()
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	c.static = http.StripPrefix("/static/", staticHandler(http.FileServerFS(sub)))
	return c
}

func staticHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// Role ranks.
const (
	RoleAdmin    = "admin"
	RoleOperator = "operator"
	RoleCustomer = "customer"
	RoleViewer   = "viewer"
)

func rank(role string) int {
	switch role {
	case RoleAdmin:
		return 4
	case RoleOperator:
		return 3
	case RoleCustomer:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// scope is what tenants a user sees.
type scope struct {
	all    bool
	tenant string
}

func scopeOf(u User) scope {
	if rank(u.Role) >= rank(RoleOperator) {
		return scope{all: true}
	}
	return scope{tenant: u.Tenant}
}

// sees reports whether the scope covers an object of tenant t. A customer
// or viewer without a tenant sees nothing.
func (s scope) sees(t string) bool { return s.all || (s.tenant != "" && s.tenant == t) }

// storeTenant is the tenant filter for store queries ("" = all); a user
// without a tenant gets one that matches nothing.
func (s scope) storeTenant() string {
	if s.all {
		return ""
	}
	if s.tenant == "" {
		return "\x00none"
	}
	return s.tenant
}

// reqCtx is one request's user, session and locale.
type reqCtx struct {
	User    User
	Session string
	CSRF    string
	L       *Locale
	Path    string // the request's path and query (for the language switch)
	scope   scope
}

func (rc *reqCtx) can(role string) bool { return rank(rc.User.Role) >= rank(role) }

// Routes registers the console on mux. It registers "/" as its catch-all,
// so that any more specific pattern (the API's /api/, /healthz, /metrics,
// /ack/, /hooks/) keeps its own handler.
func (c *Console) Routes(mux *http.ServeMux) {
	view := func(h handler) http.Handler { return c.secure(c.page(RoleViewer, h)) }
	need := func(role string, h handler) http.Handler { return c.secure(c.page(role, h)) }

	mux.Handle("GET /static/", c.secure(c.static))
	mux.Handle("GET /favicon.ico", c.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/static/favicon.svg"
		c.static.ServeHTTP(w, r2)
	})))
	mux.Handle("GET /login", c.secure(http.HandlerFunc(c.loginPage)))
	mux.Handle("POST /login", c.secure(http.HandlerFunc(c.loginPost)))
	mux.Handle("POST /logout", view(c.logout))
	mux.Handle("POST /lang", c.secure(http.HandlerFunc(c.langPost)))

	mux.Handle("GET /{$}", view(c.overview))
	mux.Handle("GET /live", c.secure(http.HandlerFunc(c.live)))
	mux.Handle("GET /hosts", view(c.hostList))
	mux.Handle("GET /hosts/{name}", view(c.hostPage))
	mux.Handle("GET /checks", view(c.checkList))
	mux.Handle("GET /checks/{name...}", view(c.checkPage))
	mux.Handle("POST /run/{name...}", need(RoleOperator, c.checkRunNow))
	mux.Handle("GET /incidents", view(c.incidentList))
	mux.Handle("GET /incidents/{id}", view(c.incidentPage))
	mux.Handle("POST /incidents/{id}/ack", need(RoleCustomer, c.incidentAck))
	mux.Handle("POST /incidents/{id}/comment", need(RoleCustomer, c.incidentComment))
	mux.Handle("POST /incidents/{id}/resolve", need(RoleOperator, c.incidentStatus(incident.Resolved)))
	mux.Handle("POST /incidents/{id}/close", need(RoleOperator, c.incidentStatus(incident.Closed)))
	mux.Handle("POST /incidents/{id}/edit", need(RoleOperator, c.incidentEdit))
	mux.Handle("GET /tickets", view(c.ticketList))
	mux.Handle("POST /tickets", need(RoleCustomer, c.ticketCreate))
	mux.Handle("GET /tickets/{id}", view(c.ticketPage))
	mux.Handle("POST /tickets/{id}/comment", need(RoleCustomer, c.ticketComment))
	mux.Handle("POST /tickets/{id}/assign", need(RoleOperator, c.ticketAssign))
	mux.Handle("POST /tickets/{id}/status", need(RoleCustomer, c.ticketStatus))
	mux.Handle("GET /runbooks", view(c.runbookList))
	mux.Handle("GET /runbooks/{name...}", view(c.runbookPage))
	mux.Handle("POST /runbooks/{name...}", need(RoleOperator, c.runbookSave))
	mux.Handle("GET /maintenance", view(c.maintenanceList))
	mux.Handle("POST /maintenance", need(RoleCustomer, c.maintenanceCreate))
	mux.Handle("POST /maintenance/{id}/delete", need(RoleCustomer, c.maintenanceDelete))
	mux.Handle("GET /notifications", need(RoleOperator, c.notificationList))
	mux.Handle("GET /events", view(c.eventList))
	mux.Handle("GET /reports", view(c.reportList))
	mux.Handle("GET /reports/{file}", view(c.reportFile))
	mux.Handle("GET /settings", view(c.settings)) // admins see more
	mux.Handle("/", view(func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		c.notFound(w, r, rc)
	}))
}

// Handler returns the console alone on its own mux (tests, or a separate
// listener).
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	c.Routes(mux)
	return mux
}

type handler func(w http.ResponseWriter, r *http.Request, rc *reqCtx)

// secure sets the security headers of every console response and refuses
// cross-origin state-changing requests.
func (c *Console) secure(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
	}))
	inner := cop.Handler(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", ContentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "no-store")
		}
		inner.ServeHTTP(w, r)
	})
}

// session returns the request's session and user.
func (c *Console) session(r *http.Request) (string, User, bool) {
	ck, err := r.Cookie(SessionCookie)
	if err != nil || ck.Value == "" || c.d.Auth == nil {
		return "", User{}, false
	}
	u, ok := c.d.Auth.SessionUser(r.Context(), ck.Value)
	if !ok {
		return "", User{}, false
	}
	return ck.Value, u, true
}

// page wraps a handler: session required (else 303 to /login), CSRF token
// required on POST (else 403), minimum role (else 403).
func (c *Console) page(min string, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sid, u, ok := c.session(r)
		if !ok {
			next := r.URL.RequestURI()
			if r.Method != http.MethodGet {
				next = "/"
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		rc := &reqCtx{User: u, Session: sid, CSRF: c.d.Auth.CSRFToken(sid), L: c.locale(r, u), Path: r.URL.RequestURI(), scope: scopeOf(u)}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 2<<20)
			if err := r.ParseForm(); err != nil {
				c.fail(w, r, rc, http.StatusBadRequest, "error.badform")
				return
			}
			if !c.d.Auth.CheckCSRF(sid, r.PostForm.Get("csrf_token")) {
				c.fail(w, r, rc, http.StatusForbidden, "error.csrf")
				return
			}
		}
		if rank(u.Role) < rank(min) || rank(u.Role) == 0 {
			c.fail(w, r, rc, http.StatusForbidden, "error.forbidden")
			return
		}
		h(w, r, rc)
	})
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.fail(w, r, rc, http.StatusNotFound, "error.notfound")
}

// fail renders an error page.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, rc *reqCtx, code int, key string) {
	data := c.base(rc, "error.title", "")
	data["Code"] = code
	data["Message"] = rc.L.T(key)
	data["Back"] = "/" // never echo the path of what was refused
	c.render(w, rc, code, "error", data)
}

func (c *Console) internal(w http.ResponseWriter, r *http.Request, rc *reqCtx, what string, err error) {
	c.log.Error("console: "+what, "path", r.URL.Path, "err", err)
	c.fail(w, r, rc, http.StatusInternalServerError, "error.internal")
}

// base is the data every page template gets.
func (c *Console) base(rc *reqCtx, titleKey, nav string) map[string]any {
	return map[string]any{
		"L": rc.L, "User": rc.User, "CSRF": rc.CSRF, "Title": rc.L.T(titleKey), "Nav": nav,
		"IsAdmin": rc.can(RoleAdmin), "IsOperator": rc.can(RoleOperator), "IsCustomer": rc.can(RoleCustomer),
		"Tenant": rc.scope.tenant, "AllTenants": rc.scope.all, "Back": backPath(rc.Path),
	}
}

// backPath is where the language switch returns to: GET pages only.
func backPath(p string) string {
	if p == "" || strings.HasPrefix(p, "/login") {
		return "/"
	}
	return p
}

// redirect after a successful POST (303 See Other).
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// localPath accepts only a path on this site as a redirect target.
func localPath(p string) string {
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\r\n") {
		return "/"
	}
	return p
}
