package web

import (
	"bufio"
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/config"
)

func TestLoginLogoutSession(t *testing.T) {
	e := newEnv(t)

	// No session: every page redirects to the login page.
	rec := e.do("", "GET", "/checks?state=CRITICAL", nil)
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login?next=") {
		t.Fatalf("no session: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if next := rec.Header().Get("Location"); !strings.Contains(next, url.QueryEscape("/checks?state=CRITICAL")) {
		t.Errorf("next not kept: %q", next)
	}

	// The login page sets the pre-session CSRF cookie and embeds it.
	rec = e.do("", "GET", "/login", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("login page: %d", rec.Code)
	}
	var pre *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == loginCookie {
			pre = c
		}
	}
	if pre == nil || !strings.Contains(rec.Body.String(), pre.Value) {
		t.Fatalf("login CSRF cookie missing or not in form")
	}
	login := func(form url.Values, withCookie bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if withCookie {
			r.AddCookie(pre)
		}
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, r)
		return rec
	}
	// Without the login token: 403.
	if rec := login(url.Values{"name": {"ops"}, "password": {"pw-ops"}}, true); rec.Code != http.StatusForbidden {
		t.Errorf("login without CSRF token: %d", rec.Code)
	}
	// Wrong password: 401 and no session.
	rec = login(url.Values{"name": {"ops"}, "password": {"nope"}, "csrf_token": {pre.Value}}, true)
	if rec.Code != http.StatusUnauthorized || len(rec.Result().Cookies()) != 0 {
		t.Errorf("wrong password: %d %v", rec.Code, rec.Result().Cookies())
	}
	// Right password: session cookie, redirect to next (local only).
	rec = login(url.Values{"name": {"ops"}, "password": {"pw-ops"}, "csrf_token": {pre.Value}, "next": {"//evil.example/"}}, true)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
		t.Fatalf("login: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	var sess *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == SessionCookie {
			sess = c
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" {
		t.Fatalf("session cookie: %+v", sess)
	}
	e.sid["new"] = sess.Value
	if rec := e.do("new", "GET", "/", nil); rec.Code != http.StatusOK {
		t.Fatalf("overview after login: %d", rec.Code)
	}
	// Logout needs the CSRF token.
	if rec := e.do("new", "POST", "/logout", url.Values{"csrf_token": {"wrong"}}); rec.Code != http.StatusForbidden {
		t.Errorf("logout without token: %d", rec.Code)
	}
	rec = e.do("new", "POST", "/logout", nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
		t.Fatalf("logout: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := e.do("new", "GET", "/", nil); rec.Code != http.StatusSeeOther {
		t.Errorf("after logout: %d", rec.Code)
	}
}

func TestSecureCookieAndHeaders(t *testing.T) {
	e := newEnv(t)
	con := New(Deps{Engine: e.eng, Config: func() *config.Config { return e.cfg }, Alerting: e.alert, Events: e.bus, Store: e.st, Auth: e.auth, SecureCookies: true})
	rec := httptest.NewRecorder()
	con.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/login", nil))
	for _, c := range rec.Result().Cookies() {
		if !c.Secure || !c.HttpOnly {
			t.Errorf("cookie %s not Secure/HttpOnly", c.Name)
		}
	}
	for _, path := range []string{"/", "/login", "/static/app.js", "/checks/web1/http", "/nothing"} {
		rec := e.do(uOperator.Name, "GET", path, nil)
		h := rec.Header()
		if h.Get("Content-Security-Policy") != ContentSecurityPolicy || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
	if rec := e.do(uOperator.Name, "GET", "/nothing", nil); rec.Code != http.StatusNotFound {
		t.Errorf("unknown page: %d", rec.Code)
	}
	if rec := e.do("", "GET", "/static/vendor/uplot/uPlot.iife.min.js", nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "uPlot") {
		t.Errorf("vendored uPlot: %d", rec.Code)
	}
	if rec := e.do("", "GET", "/static/", nil); rec.Code != http.StatusNotFound {
		t.Errorf("static directory listing: %d", rec.Code)
	}
}

// TestNoInlineScriptOrStyle: the strict CSP would block them.
func TestNoInlineScriptOrStyle(t *testing.T) {
	re := regexp.MustCompile(`(?i)<script[^>]*>[^<]|\sstyle\s*=|\son[a-z]+\s*=|<style|javascript:`)
	err := fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := templateFS.ReadFile(path)
		if m := re.Find(b); m != nil {
			t.Errorf("%s: inline script or style: %q", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCSRFRequiredOnEveryPost(t *testing.T) {
	e := newEnv(t)
	posts := []string{
		"/logout", "/incidents/" + itoa(e.incident["acme"]) + "/ack", "/incidents/" + itoa(e.incident["acme"]) + "/comment",
		"/incidents/" + itoa(e.incident["acme"]) + "/resolve", "/incidents/" + itoa(e.incident["acme"]) + "/close",
		"/tickets", "/tickets/" + itoa(e.ticket["acme"]) + "/comment", "/tickets/" + itoa(e.ticket["acme"]) + "/assign",
		"/tickets/" + itoa(e.ticket["acme"]) + "/status", "/runbooks/acme/main", "/maintenance",
		"/maintenance/" + itoa(e.window["acme"]) + "/delete", "/lang",
	}
	for _, p := range posts {
		for _, tok := range []string{"", "csrf-sess-other-1"} {
			rec := e.do(uAdmin.Name, "POST", p, url.Values{"csrf_token": {tok}, "text": {"x"}, "status": {"closed"}, "lang": {"en"}})
			if rec.Code != http.StatusForbidden {
				t.Errorf("POST %s with token %q: %d, want 403", p, tok, rec.Code)
			}
		}
	}
	// Nothing changed.
	in, _ := e.st.Incident(context.Background(), e.incident["acme"])
	if in.Status != "open" || len(in.Timeline) != 1 {
		t.Errorf("incident changed by refused POSTs: %s, %d timeline entries", in.Status, len(in.Timeline))
	}
	// A cross-site POST is refused even with a valid token.
	r := e.req(uAdmin.Name, "POST", "/incidents/"+itoa(e.incident["acme"])+"/comment", url.Values{"text": {"x"}})
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	if rec.Code != http.StatusForbidden {
		t.Errorf("cross-site POST: %d", rec.Code)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestAuthorizationMatrix: every role × every page and POST route × own or
// other tenant's objects.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	type obj struct{ own, other string } // path parts for the acme user's own and globex's object
	ids := map[string]obj{
		"host":     {"web1", "db1"},
		"check":    {"web1/http", "db1/pg"},
		"incident": {itoa(e.incident["acme"]), itoa(e.incident["globex"])},
		"ticket":   {itoa(e.ticket["acme"]), itoa(e.ticket["globex"])},
		"runbook":  {"acme/main", "globex/main"},
	}
	const (
		all      = 0 // any role may
		customer = 1 // customer and above
		operator = 2 // operator and above
		admin    = 3
	)
	roleLevel := map[string]int{uAdmin.Name: admin, uOperator.Name: operator, uCustomer.Name: customer, uViewer.Name: all}
	type route struct {
		method, path string // {id} replaced by the object's own/other id
		kind         string // object kind, "" = no id
		min          int
		ok           int // status when allowed
		form         func(own bool) url.Values
		fresh        func(tenant string) string // a new object per case (destructive routes)
	}
	f := func(kv ...string) func(bool) url.Values {
		return func(bool) url.Values {
			v := url.Values{}
			for i := 0; i+1 < len(kv); i += 2 {
				v.Set(kv[i], kv[i+1])
			}
			return v
		}
	}
	start := time.Now().Add(48 * time.Hour).In(tokyo).Format("2006-01-02T15:04")
	routes := []route{
		{method: "GET", path: "/", ok: 200},
		{method: "GET", path: "/?partial=1", ok: 200},
		{method: "GET", path: "/hosts", ok: 200},
		{method: "GET", path: "/hosts/{id}", kind: "host", ok: 200},
		{method: "GET", path: "/hosts/{id}?range=1w", kind: "host", ok: 200},
		{method: "GET", path: "/checks", ok: 200},
		{method: "GET", path: "/checks/{id}", kind: "check", ok: 200},
		{method: "GET", path: "/incidents", ok: 200},
		{method: "GET", path: "/incidents/{id}", kind: "incident", ok: 200},
		{method: "GET", path: "/tickets", ok: 200},
		{method: "GET", path: "/tickets/{id}", kind: "ticket", ok: 200},
		{method: "GET", path: "/runbooks", ok: 200},
		{method: "GET", path: "/runbooks/{id}", kind: "runbook", ok: 200},
		{method: "GET", path: "/runbooks/{id}?version=1", kind: "runbook", ok: 200},
		{method: "GET", path: "/maintenance", ok: 200},
		{method: "GET", path: "/notifications", min: operator, ok: 200}, // the notification log is internal
		{method: "GET", path: "/events", ok: 200},
		{method: "GET", path: "/events?hard=0", ok: 200},
		{method: "GET", path: "/settings", ok: 200}, // everyone's own logins; admins see more
		{method: "POST", path: "/incidents/{id}/comment", kind: "incident", min: customer, ok: 303, form: f("text", "looking")},
		{method: "POST", path: "/incidents/{id}/comment", kind: "incident", min: customer, ok: 303, form: f("text", "for you", "visibility", "customer")},
		{method: "POST", path: "/incidents/{id}/comment", kind: "incident", min: operator, ok: 303, form: f("text", "between us", "visibility", "internal")},
		{method: "POST", path: "/incidents/{id}/ack", kind: "incident", min: operator, ok: 303, form: f("comment", "between us", "visibility", "internal")},
		{method: "POST", path: "/incidents/{id}/ack", kind: "incident", min: customer, ok: 303},
		{method: "POST", path: "/incidents/{id}/resolve", kind: "incident", min: operator, ok: 303},
		{method: "POST", path: "/incidents/{id}/close", kind: "incident", min: operator, ok: 303},
		{method: "POST", path: "/tickets", min: customer, ok: 303, form: f("title", "please reboot", "kind", "operation")},
		{method: "POST", path: "/tickets/{id}/comment", kind: "ticket", min: customer, ok: 303, form: f("text", "any news?")},
		{method: "POST", path: "/tickets/{id}/comment", kind: "ticket", min: operator, ok: 303, form: f("text", "between us", "visibility", "internal")},
		{method: "POST", path: "/tickets/{id}/status", kind: "ticket", min: customer, ok: 303, form: f("status", "closed")},
		{method: "POST", path: "/tickets/{id}/assign", kind: "ticket", min: operator, ok: 303, form: f("assignee", "ops")},
		{method: "POST", path: "/runbooks/{id}", kind: "runbook", min: operator, ok: 303, form: func(own bool) url.Values {
			tenant := map[bool]string{true: "acme", false: "globex"}[own]
			return url.Values{"markdown": {"---\ntenants: [" + tenant + "]\n---\n# Steps\n\n1. look\n"}}
		}},
		{method: "POST", path: "/maintenance", min: customer, ok: 303, form: f("hosts", "web1", "start", start, "duration", "2h", "reason", "upgrade")},
		{method: "POST", path: "/maintenance/{id}/delete", kind: "window", min: customer, ok: 303,
			fresh: func(tenant string) string {
				host := map[string]string{"acme": "web1", "globex": "db1"}[tenant]
				return itoa(e.createWindow(tenant, host))
			}},
	}
	users := []User{uAdmin, uOperator, uCustomer, uViewer}
	n := 0
	for _, rt := range routes {
		for _, u := range users {
			for _, own := range []bool{true, false} {
				if rt.kind == "" && !own {
					continue
				}
				path := rt.path
				if rt.kind != "" {
					var id string
					switch {
					case rt.fresh != nil && own:
						id = rt.fresh("acme")
					case rt.fresh != nil:
						id = rt.fresh("globex")
					case own:
						id = ids[rt.kind].own
					default:
						id = ids[rt.kind].other
					}
					path = strings.Replace(path, "{id}", id, 1)
				}
				want := rt.ok
				switch {
				case roleLevel[u.Name] < rt.min:
					want = http.StatusForbidden
				case !own && roleLevel[u.Name] < operator:
					want = http.StatusNotFound // another tenant's object
				}
				var form url.Values
				if rt.form != nil {
					form = rt.form(own)
				}
				rec := e.do(u.Name, rt.method, path, form)
				n++
				if rec.Code != want {
					t.Errorf("%s %s %s as %s (own=%v): %d, want %d\n%s", rt.method, path, rt.kind, u.Name, own, rec.Code, want, firstLine(rec.Body.String(), "<p>"))
				}
				if rec.Code == http.StatusNotFound && strings.Contains(rec.Body.String(), "globex") {
					t.Errorf("%s %s as %s: the 404 page names the other tenant", rt.method, path, u.Name)
				}
				// Without a session, the same request goes to the login page.
				if own && u.Name == uAdmin.Name {
					rec := e.do("", rt.method, path, form)
					if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login") {
						t.Errorf("%s %s without session: %d %q", rt.method, path, rec.Code, rec.Header().Get("Location"))
					}
				}
			}
		}
	}
	t.Logf("%d authorization cases", n)
	// Customers: a maintenance window or ticket for another tenant is refused.
	if rec := e.do(uCustomer.Name, "POST", "/maintenance", url.Values{"hosts": {"db1"}, "tenant": {"globex"}, "start": {start}, "duration": {"1h"}}); rec.Code != http.StatusForbidden {
		t.Errorf("customer window for another tenant: %d", rec.Code)
	}
	if rec := e.do(uCustomer.Name, "POST", "/tickets", url.Values{"title": {"x"}, "tenant": {"globex"}}); rec.Code != http.StatusForbidden {
		t.Errorf("customer ticket for another tenant: %d", rec.Code)
	}
	// A customer's window is bound to their tenant.
	e.alert.RefreshMaintenance(context.Background())
	for _, w := range e.alert.Windows() {
		if w.CreatedBy == uCustomer.Name && w.Tenant != "acme" {
			t.Errorf("customer window has tenant %q", w.Tenant)
		}
	}
	// Lists never show the other tenant's objects.
	for _, p := range []string{"/", "/hosts", "/checks", "/incidents", "/tickets", "/runbooks", "/maintenance", "/events?hard=0", "/notifications", "/checks?q=db1", "/events?host=db1&hard=0"} {
		body := e.do(uCustomer.Name, "GET", p, nil).Body.String()
		for _, leak := range []string{"db1/", "/hosts/db1", "globex"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s as an acme customer shows %q", p, leak)
			}
		}
	}
	// Graph queries of a customer are restricted to their tenant.
	e.metrics.mu.Lock()
	defer e.metrics.mu.Unlock()
	for i, q := range e.metrics.queries {
		if strings.Contains(q, `"db1"`) && e.metrics.tenants[i] != "" {
			t.Errorf("a tenant user queried db1's metrics: %q as %q", q, e.metrics.tenants[i])
		}
	}
}

func firstLine(s, marker string) string {
	if i := strings.Index(s, marker); i >= 0 {
		s = s[i:]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

func TestXSSCheckOutputIsText(t *testing.T) {
	e := newEnv(t)
	evil := `<script>alert(1)</script><img src=x onerror=alert(2)><b>bold</b>`
	e.record("web1/http", check.OK, "fine")
	e.record("web1/http", check.Critical, evil)
	e.createIncident("acme", "web1", "web1/http")
	for _, p := range []string{"/", "/?partial=1", "/checks", "/checks/web1/http", "/hosts/web1", "/events?hard=0"} {
		body := e.do(uCustomer.Name, "GET", p, nil).Body.String()
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") || strings.Contains(body, "<b>bold") {
			t.Errorf("%s: untrusted HTML rendered as HTML", p)
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&lt;b&gt;bold&lt;/b&gt;") {
			t.Errorf("%s: escaped output missing", p)
		}
	}
	// An incident whose output and comment carry HTML.
	id := e.incident["acme"]
	e.do(uCustomer.Name, "POST", "/incidents/"+itoa(id)+"/comment", url.Values{"text": {evil}})
	body := e.do(uCustomer.Name, "GET", "/incidents/"+itoa(id), nil).Body.String()
	if strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("incident comment not escaped")
	}
	// A runbook with raw HTML is shown as text too.
	if _, _, err := e.alert.SaveRunbook(context.Background(), "acme/main", "---\ntenants: [acme]\n---\n<script>alert(3)</script> [x](javascript:alert(4))\n", "t"); err != nil {
		t.Fatal(err)
	}
	body = e.do(uCustomer.Name, "GET", "/runbooks/acme/main", nil).Body.String()
	if strings.Contains(body, "<script>alert(3)") || strings.Contains(body, `href="javascript:`) {
		t.Errorf("runbook HTML not neutralised")
	}
}

func TestI18n(t *testing.T) {
	e := newEnv(t)
	ja := User{Name: "taro", Role: RoleOperator, Lang: "ja"}
	en := User{Name: "john", Role: RoleOperator, Lang: "en"}
	nolang := User{Name: "anon", Role: RoleOperator}
	for _, u := range []User{ja, en, nolang} {
		e.sid[u.Name] = e.auth.session(u)
	}
	last := time.Now().UTC()
	cases := []struct {
		user, accept, cookie string
		want, notWant        []string
	}{
		{user: "taro", want: []string{`<html lang="ja">`, "概要", "障害", "表示タイムゾーン: Asia/Tokyo"}, notWant: []string{">Overview<"}},
		{user: "john", want: []string{`<html lang="en">`, "Overview", "Problems", "Times in: UTC"}, notWant: []string{"概要"}},
		{user: "anon", accept: "en-US,en;q=0.9,ja;q=0.5", want: []string{`lang="en"`, "Overview"}},
		{user: "anon", accept: "ja,en-US;q=0.8", want: []string{`lang="ja"`, "概要"}},
		{user: "anon", accept: "fr-FR", want: []string{`lang="en"`}},
		// The zone follows the account, not the language switch (issue 14).
		{user: "john", cookie: "ja", want: []string{`lang="ja"`, "概要", "表示タイムゾーン: UTC"}, notWant: []string{"Asia/Tokyo"}},
		{user: "taro", cookie: "en", want: []string{`lang="en"`, "Overview", "Times in: Asia/Tokyo"}},
	}
	for _, c := range cases {
		r := e.req(c.user, "GET", "/", nil)
		if c.accept != "" {
			r.Header.Set("Accept-Language", c.accept)
		}
		if c.cookie != "" {
			r.AddCookie(&http.Cookie{Name: LangCookie, Value: c.cookie})
		}
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, r)
		body := rec.Body.String()
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%+v: missing %q", c, w)
			}
		}
		for _, w := range c.notWant {
			if strings.Contains(body, w) {
				t.Errorf("%+v: unexpected %q", c, w)
			}
		}
	}
	// Times follow the zone: the check page shows last check in JST for ja.
	v, _ := e.eng.Get("web1/http")
	last = v.LastCheck
	jst := last.In(tokyo).Format("2006-01-02 15:04:05")
	utc := last.UTC().Format("2006-01-02 15:04:05")
	if jst != utc {
		if b := e.do("taro", "GET", "/checks/web1/http", nil).Body.String(); !strings.Contains(b, jst) {
			t.Errorf("ja page lacks the JST time %s", jst)
		}
		if b := e.do("john", "GET", "/checks/web1/http", nil).Body.String(); !strings.Contains(b, utc) {
			t.Errorf("en page lacks the UTC time %s", utc)
		}
	}
	// The language switch sets the cookie and returns to the page.
	rec := e.do("john", "POST", "/lang", url.Values{"lang": {"ja"}, "back": {"/checks"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/checks" {
		t.Fatalf("lang switch: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	found := false
	for _, c := range rec.Result().Cookies() {
		found = found || (c.Name == LangCookie && c.Value == "ja")
	}
	if !found {
		t.Errorf("lang cookie not set")
	}
	if rec := e.do("john", "POST", "/lang", url.Values{"lang": {"ja"}, "back": {"https://evil.example/"}}); rec.Header().Get("Location") != "/" {
		t.Errorf("open redirect through back: %q", rec.Header().Get("Location"))
	}
}

// TestCatalogs: both languages have every key, and every key the templates
// and code use exists.
func TestCatalogs(t *testing.T) {
	c := mustCatalog()
	for k := range c.msgs[English] {
		if _, ok := c.msgs[Japanese][k]; !ok {
			t.Errorf("ja lacks %q", k)
		}
	}
	for k := range c.msgs[Japanese] {
		if _, ok := c.msgs[English][k]; !ok {
			t.Errorf("en lacks %q", k)
		}
	}
	re := regexp.MustCompile(`\.T[f]? "([^"]+)"`)
	_ = fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := templateFS.ReadFile(path)
		for _, m := range re.FindAllSubmatch(b, -1) {
			if _, ok := c.msgs[English][string(m[1])]; !ok {
				t.Errorf("%s uses unknown key %q", path, m[1])
			}
		}
		return nil
	})
	for _, prefix := range []string{"incident.status.", "ticket.status.", "ticket.kind.", "ticket.priority.", "role."} {
		found := false
		for k := range c.msgs[English] {
			found = found || strings.HasPrefix(k, prefix)
		}
		if !found {
			t.Errorf("no keys %s*", prefix)
		}
	}
}

func TestLiveFilteredByTenant(t *testing.T) {
	e := newEnv(t)
	old := liveKeepAlive
	liveKeepAlive = 50 * time.Millisecond
	defer func() { liveKeepAlive = old }()
	srv := httptest.NewServer(e.h)
	defer srv.Close()

	// No session: 401.
	if res, err := http.Get(srv.URL + "/live"); err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("live without session: %v %v", res, err)
	}

	type got struct {
		user   string
		events chan liveEvent
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func(user string) got {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/live", nil)
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: e.sid[user]})
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("live as %s: %v %v", user, res, err)
		}
		g := got{user, make(chan liveEvent, 16)}
		go func() {
			defer res.Body.Close()
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() {
				if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					var ev liveEvent
					if json.Unmarshal([]byte(d), &ev) == nil {
						g.events <- ev
					}
				}
			}
		}()
		return g
	}
	cust, op := open(uCustomer.Name), open(uOperator.Name)
	time.Sleep(100 * time.Millisecond) // both subscribed
	e.record("db1/pg", check.OK, "globex ok")
	e.record("web1/http", check.OK, "acme ok")
	next := func(g got) liveEvent {
		select {
		case ev := <-g.events:
			return ev
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no event", g.user)
		}
		return liveEvent{}
	}
	if ev := next(cust); ev.Check != "web1/http" || ev.State != "OK" {
		t.Errorf("customer's first event: %+v (want web1/http: globex's must be filtered)", ev)
	}
	if a, b := next(op), next(op); a.Check != "db1/pg" || b.Check != "web1/http" {
		t.Errorf("operator's events: %s, %s", a.Check, b.Check)
	}
	// The overview partial reflects the new state right away.
	body := e.do(uCustomer.Name, "GET", "/?partial=1", nil).Body.String()
	if strings.Contains(body, "connection refused on web1/http") {
		t.Errorf("partial overview still shows the old problem")
	}
}

func TestOverviewProblemsFirst(t *testing.T) {
	e := newEnv(t)
	e.record("web1/alive", check.Critical, "host unreachable")
	body := e.do(uOperator.Name, "GET", "/", nil).Body.String()
	i, j := strings.Index(body, `id="problems"`), strings.Index(body, `id="open-incidents"`)
	if i < 0 || j < 0 || i > j {
		t.Fatalf("problems not listed first")
	}
	for _, want := range []string{"web1/http", "db1/pg", `id="n-critical">3<`, `id="n-hostsdown">1<`, "/incidents/" + itoa(e.incident["acme"])} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	body = e.do(uCustomer.Name, "GET", "/", nil).Body.String()
	if !strings.Contains(body, `id="n-critical">2<`) {
		t.Errorf("customer counts not limited to the tenant")
	}
}

func TestPagesContent(t *testing.T) {
	e := newEnv(t)
	// The incident page: timeline, runbook, actions by role.
	id := itoa(e.incident["acme"])
	body := e.do(uCustomer.Name, "GET", "/incidents/"+id, nil).Body.String()
	for _, want := range []string{"restart it", `id="ack-button"`, `id="comment-form"`} {
		if !strings.Contains(body, want) {
			t.Errorf("incident page lacks %q", want)
		}
	}
	if strings.Contains(body, "/resolve") {
		t.Errorf("a customer is offered resolve")
	}
	if body := e.do(uViewer.Name, "GET", "/incidents/"+id, nil).Body.String(); strings.Contains(body, "ack-button") || strings.Contains(body, "comment-form") {
		t.Errorf("a viewer is offered actions")
	}
	// Acknowledge and comment through the forms.
	if rec := e.do(uCustomer.Name, "POST", "/incidents/"+id+"/ack", url.Values{"comment": {"on it"}}); rec.Code != 303 {
		t.Fatalf("ack: %d", rec.Code)
	}
	e.do(uCustomer.Name, "POST", "/incidents/"+id+"/comment", url.Values{"text": {"restarted nginx"}})
	in, _ := e.st.Incident(context.Background(), e.incident["acme"])
	if in.Status != "acknowledged" || in.AckedBy != uCustomer.Name || in.Timeline[len(in.Timeline)-1].Text != "restarted nginx" {
		t.Errorf("incident after ack and comment: %s %s %+v", in.Status, in.AckedBy, in.Timeline)
	}
	// Host page with graphs; without a metrics store, it says so.
	body = e.do(uOperator.Name, "GET", "/hosts/web1?range=1h", nil).Body.String()
	if !strings.Contains(body, `id="chart-load"`) || !strings.Contains(body, `id="chart-disk"`) || !strings.Contains(body, "data-chart=") {
		t.Errorf("host page lacks graphs")
	}
	con := New(Deps{Engine: e.eng, Config: func() *config.Config { return e.cfg }, Alerting: e.alert, Events: e.bus, Store: e.st, Auth: e.auth})
	rec := httptest.NewRecorder()
	con.Handler().ServeHTTP(rec, e.req(uOperator.Name, "GET", "/hosts/web1", nil))
	if !strings.Contains(rec.Body.String(), `id="no-metrics"`) {
		t.Errorf("no metrics store: not said")
	}
	// Custom range.
	body = e.do(uOperator.Name, "GET", "/hosts/web1?start=2026-01-01T00:00&end=2026-01-02T00:00", nil).Body.String()
	if !strings.Contains(body, `value="2026-01-01T00:00"`) {
		t.Errorf("custom range not kept")
	}
	// Check page: response-time graph from the time perfdata, history, state log.
	body = e.do(uOperator.Name, "GET", "/checks/web1/http", nil).Body.String()
	for _, want := range []string{`id="chart-time"`, "0.012", `id="state-log"`, `id="results"`} {
		if !strings.Contains(body, want) {
			t.Errorf("check page lacks %q", want)
		}
	}
	// Tickets: create, comment, assign, close.
	rec = e.do(uCustomer.Name, "POST", "/tickets", url.Values{"title": {"disk full?"}, "body": {"please look"}})
	loc := rec.Header().Get("Location")
	if rec.Code != 303 || !strings.HasPrefix(loc, "/tickets/") {
		t.Fatalf("create ticket: %d %q", rec.Code, loc)
	}
	tid := strings.TrimPrefix(strings.Split(loc, "?")[0], "/tickets/")
	e.do(uOperator.Name, "POST", "/tickets/"+tid+"/assign", url.Values{"assignee": {"ops"}})
	e.do(uCustomer.Name, "POST", "/tickets/"+tid+"/comment", url.Values{"text": {"thanks"}})
	if rec := e.do(uCustomer.Name, "POST", "/tickets/"+tid+"/status", url.Values{"status": {"in_progress"}}); rec.Code != 403 {
		t.Errorf("customer set in_progress: %d", rec.Code)
	}
	e.do(uCustomer.Name, "POST", "/tickets/"+tid+"/status", url.Values{"status": {"closed"}})
	n, _ := strconv.ParseInt(tid, 10, 64)
	tk, err := e.st.Ticket(context.Background(), n)
	if err != nil || tk.Tenant != "acme" || tk.Assignee != "ops" || tk.Status != "closed" {
		t.Errorf("ticket: %+v %v", tk, err)
	}
	// Runbook edit with history.
	e.do(uOperator.Name, "POST", "/runbooks/acme/main", url.Values{"markdown": {"---\ntenants: [acme]\n---\n# New steps\n"}})
	body = e.do(uCustomer.Name, "GET", "/runbooks/acme/main", nil).Body.String()
	if !strings.Contains(body, "New steps") || !strings.Contains(body, "?version=1") || !strings.Contains(body, "?version=2") {
		t.Errorf("runbook history not shown")
	}
	if body := e.do(uOperator.Name, "GET", "/runbooks/acme/main?edit=1", nil).Body.String(); !strings.Contains(body, `id="runbook-form"`) {
		t.Errorf("no editor for operators")
	}
	// Settings list users.
	if body := e.do(uAdmin.Name, "GET", "/settings", nil).Body.String(); !strings.Contains(body, "acme-viewer") {
		t.Errorf("settings lack users")
	}
	// Pagination: ?page= beyond the end is an empty page, not an error.
	if rec := e.do(uOperator.Name, "GET", "/checks?page=7", nil); rec.Code != 200 {
		t.Errorf("page 7: %d", rec.Code)
	}
	// A maintenance form error is shown, with 400.
	if rec := e.do(uCustomer.Name, "POST", "/maintenance", url.Values{"hosts": {"web1"}}); rec.Code != 400 || !strings.Contains(rec.Body.String(), "maintenance-errors") {
		t.Errorf("bad maintenance form: %d", rec.Code)
	}
}
