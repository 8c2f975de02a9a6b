package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/alerting"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/engine"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/maintenance"
	"github.com/mamori/mamori/internal/server/specs"
	"github.com/mamori/mamori/internal/store/sqlite"
)

// webtestSpec is a check type that exists only in these tests: its results
// are recorded by the tests (the checks are disabled, never scheduled).
type webtestSpec struct{}

func (s *webtestSpec) Validate() []check.FieldError { return nil }
func (s *webtestSpec) New(check.Env) (check.Checker, error) {
	return check.CheckerFunc(func(context.Context) check.Result {
		return check.Result{Status: check.OK, Output: "webtest"}
	}), nil
}

func init() {
	check.Register(&check.Kind{Name: "webtest", Label: "WEBTEST", Timeout: time.Second, New: func() check.Spec { return &webtestSpec{} }})
}

// fakeAuth is a session service for tests.
type fakeAuth struct {
	mu       sync.Mutex
	users    map[string]fakeUser // by name
	sessions map[string]User
	seq      int
	logins   int
	inputs   []LoginInput
	throttle func(LoginInput) error // nil: never
}

type fakeUser struct {
	password string
	User
}

func newFakeAuth() *fakeAuth {
	return &fakeAuth{users: map[string]fakeUser{}, sessions: map[string]User{}}
}

func (a *fakeAuth) addUser(u User, password string) { a.users[u.Name] = fakeUser{password, u} }

func (a *fakeAuth) Login(ctx context.Context, in LoginInput) (LoginOutcome, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.logins++
	a.inputs = append(a.inputs, in)
	if a.throttle != nil {
		if err := a.throttle(in); err != nil {
			return LoginOutcome{}, err
		}
	}
	u, ok := a.users[in.Name]
	if !ok || subtle.ConstantTimeCompare([]byte(u.password), []byte(in.Password)) != 1 {
		return LoginOutcome{}, errors.New("wrong user name or password")
	}
	a.seq++
	sid := fmt.Sprintf("sess-%s-%d", in.Name, a.seq)
	a.sessions[sid] = u.User
	return LoginOutcome{Session: sid, Device: "device-of-" + in.Name}, nil
}

func (a *fakeAuth) Logout(ctx context.Context, sid string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, sid)
	return nil
}

func (a *fakeAuth) SessionUser(ctx context.Context, sid string) (User, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.sessions[sid]
	return u, ok
}

func (a *fakeAuth) CSRFToken(sid string) string { return "csrf-" + sid }

func (a *fakeAuth) CheckCSRF(sid, tok string) bool {
	return tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte("csrf-"+sid)) == 1
}

// session opens a session for a user directly.
func (a *fakeAuth) session(u User) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	sid := fmt.Sprintf("sess-%s-%d", u.Name, a.seq)
	a.sessions[sid] = u
	return sid
}

// fakeAdminAuth adds the optional user listing.
type fakeAdminAuth struct{ *fakeAuth }

func (a fakeAdminAuth) Users(ctx context.Context) ([]User, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []User
	for _, u := range a.users {
		out = append(out, u.User)
	}
	return out, nil
}

// fakeMetrics answers every query with one series per host label.
type fakeMetrics struct {
	mu      sync.Mutex
	queries []string
	tenants []string
}

func (m *fakeMetrics) QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration, tenant string) (Matrix, error) {
	m.mu.Lock()
	m.queries = append(m.queries, q)
	m.tenants = append(m.tenants, tenant)
	m.mu.Unlock()
	s := Series{Labels: map[string]string{"mountpoint": "/", "device": "eth0", "mode": "user"}}
	for t := start; t.Before(end); t = t.Add(step) {
		s.Points = append(s.Points, Point{T: t.UnixMilli(), V: 1.5})
	}
	return Matrix{s}, nil
}

const testConfig = `listen: 127.0.0.1:0
data_dir: %s
defaults: {interval: 1h, attempts: 1}
hosts:
  - name: web1
    address: 127.0.0.1
    tenant: acme
    groups: [web]
    host_check: alive
    checks:
      - {name: alive, type: webtest, disabled: true}
      - {name: http, type: webtest, disabled: true}
  - name: db1
    address: 127.0.0.2
    tenant: globex
    host_check: alive
    checks:
      - {name: alive, type: webtest, disabled: true}
      - {name: pg, type: webtest, disabled: true}
`

// Users of the tests.
var (
	uAdmin    = User{Name: "root", Role: RoleAdmin, Lang: "en"}
	uOperator = User{Name: "ops", Role: RoleOperator, Lang: "en"}
	uCustomer = User{Name: "acme-user", Role: RoleCustomer, Tenant: "acme", Lang: "en"}
	uViewer   = User{Name: "acme-viewer", Role: RoleViewer, Tenant: "acme", Lang: "en"}
	uGlobex   = User{Name: "globex-user", Role: RoleCustomer, Tenant: "globex", Lang: "en"}
)

type testEnv struct {
	bus     *event.Bus
	t       *testing.T
	eng     *engine.Engine
	cfg     *config.Config
	st      *sqlite.Store
	alert   *alerting.Service
	auth    *fakeAuth
	metrics *fakeMetrics
	con     *Console
	h       http.Handler
	sid     map[string]string // session by user name
	// objects by tenant
	incident map[string]int64
	ticket   map[string]int64
	window   map[string]int64
}

func newEnv(t *testing.T) *testEnv { t.Helper(); return newEnvFrom(t, testConfig) }

// newEnvFrom is newEnv on another configuration (its %s is the data_dir).
func newEnvFrom(t *testing.T, configText string) *testEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	cfg, err := config.Parse("t.yaml", []byte(fmt.Sprintf(configText, dir)))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bus := event.NewBus()
	eng, err := engine.New(ctx, specs.Plan(cfg), st, log, engine.WithEvents(bus))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { eng.Run(ctx); close(done) }()
	alert, err := alerting.New(alerting.Deps{Config: cfg, Store: st, States: eng, Events: bus, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-done; st.Close() })

	e := &testEnv{t: t, eng: eng, cfg: cfg, bus: bus, st: st, alert: alert, auth: newFakeAuth(), metrics: &fakeMetrics{}, sid: map[string]string{},
		incident: map[string]int64{}, ticket: map[string]int64{}, window: map[string]int64{}}
	for _, u := range []User{uAdmin, uOperator, uCustomer, uViewer, uGlobex} {
		e.auth.addUser(u, "pw-"+u.Name)
		e.sid[u.Name] = e.auth.session(u)
	}
	e.con = New(Deps{Engine: eng, Config: func() *config.Config { return cfg }, Alerting: alert, Events: bus, Store: st, Auth: fakeAdminAuth{e.auth}, Metrics: e.metrics, Log: log})
	e.h = e.con.Handler()

	// Objects of both tenants.
	for _, x := range []struct{ tenant, host, check string }{{"acme", "web1", "web1/http"}, {"globex", "db1", "db1/pg"}} {
		e.record(x.check, check.Critical, "connection refused on "+x.check)
		e.incident[x.tenant] = e.createIncident(x.tenant, x.host, x.check)
		tk := &incident.Ticket{Tenant: x.tenant, Kind: incident.TicketInquiry, Title: "question of " + x.tenant, Status: incident.TicketOpen, Priority: incident.TicketNormal, CreatedBy: "t"}
		if err := st.CreateTicket(ctx, tk); err != nil {
			t.Fatal(err)
		}
		e.ticket[x.tenant] = tk.ID
		e.window[x.tenant] = e.createWindow(x.tenant, x.host)
		md := fmt.Sprintf("---\ntitle: %s runbook\ntenants: [%s]\nhosts: [%s]\n---\n1. restart it\n", x.tenant, x.tenant, x.host)
		if _, _, err := alert.SaveRunbook(ctx, x.tenant+"/main", md, "t"); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *testEnv) record(name string, st check.Status, output string) {
	e.t.Helper()
	r := check.Result{Status: st, Output: output, Time: time.Now(), Duration: 12 * time.Millisecond,
		Perf: []check.Metric{check.Seconds("time", 12*time.Millisecond, 0, 0)}}
	if _, err := e.eng.Record(context.Background(), name, r); err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) createIncident(tenant, host, checkName string) int64 {
	e.t.Helper()
	now := time.Now()
	in := &incident.Incident{Check: checkName, Host: host, Tenant: tenant, Scope: "check", Status: incident.Open, State: check.Critical,
		Title: checkName + " CRITICAL", Output: "connection refused", DetectedAt: now, OpenedAt: now, Runbook: tenant + "/main", EscLevel: -1}
	err := e.st.Write(context.Background(), func(tx incident.Tx) error {
		if err := tx.CreateIncident(context.Background(), in); err != nil {
			return err
		}
		return tx.AddTimeline(context.Background(), in.ID, incident.Timeline{Time: now, Kind: "opened", Text: "opened"})
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return in.ID
}

func (e *testEnv) createWindow(tenant, host string) int64 {
	e.t.Helper()
	start := time.Now().Add(24 * time.Hour)
	w := maintenance.Window{Tenant: tenant, Hosts: []string{host}, Start: start, End: start.Add(time.Hour), Reason: "patching"}
	b, err := w.MarshalJSON()
	if err != nil {
		e.t.Fatal(err)
	}
	id, err := e.st.CreateMaintenance(context.Background(), b, "t")
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// req builds a request with the user's session; POSTs carry the session's
// CSRF token unless form sets csrf_token itself.
func (e *testEnv) req(user, method, path string, form url.Values) *http.Request {
	var body io.Reader
	sid := e.sid[user]
	if method == http.MethodPost {
		if form == nil {
			form = url.Values{}
		}
		if _, ok := form["csrf_token"]; !ok && sid != "" {
			form.Set("csrf_token", e.auth.CSRFToken(sid))
		}
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, path, body)
	if method == http.MethodPost {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if sid != "" {
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: sid})
	}
	return r
}

func (e *testEnv) do(user, method, path string, form url.Values) *httptest.ResponseRecorder {
	e.t.Helper()
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, e.req(user, method, path, form))
	return rec
}
