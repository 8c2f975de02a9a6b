package web

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/config"
)

type waitErr struct{ d time.Duration }

func (e waitErr) Error() string                      { return "too many failed logins; try again later" }
func (e waitErr) RetryAfter(time.Time) time.Duration { return e.d }

// historyAuth adds the login history.
type historyAuth struct{ fakeAdminAuth }

func (a historyAuth) LoginAttempts(_ context.Context, user string, limit int) ([]LoginAttemptInfo, error) {
	now := time.Date(2026, 12, 2, 3, 4, 5, 0, time.UTC)
	all := []LoginAttemptInfo{
		{Time: now, User: "acme-user", IP: "203.0.113.9", Known: true, Outcome: "success", Delay: 2 * time.Second},
		{Time: now.Add(-time.Minute), User: "acme-user", IP: "198.51.100.66", Outcome: "throttled", Delay: 4 * time.Second},
		{Time: now.Add(-2 * time.Minute), User: "acme-user", IP: "198.51.100.66", Outcome: "failure"},
		{Time: now.Add(-3 * time.Minute), User: "ops", IP: "192.0.2.1", Outcome: "success"},
	}
	var out []LoginAttemptInfo
	for _, x := range all {
		if user == "" || strings.EqualFold(x.User, user) {
			out = append(out, x)
		}
	}
	return out, nil
}

// The login form passes the device cookie, keeps the one a login gives, and
// answers a throttled client 429 with Retry-After; the settings page shows
// each user their own login attempts and admins everyone's.
func TestLoginThrottleDeviceAndAttempts(t *testing.T) {
	e := newEnv(t)
	e.con = New(Deps{Engine: e.eng, Config: func() *config.Config { return e.cfg }, Alerting: e.alert, Events: e.bus, Store: e.st, Auth: historyAuth{fakeAdminAuth{e.auth}}})
	e.h = e.con.Handler()
	pre := e.do("", "GET", "/login", nil).Result().Cookies()
	login := func(name, pw string, extra ...*http.Cookie) *httptest.ResponseRecorder {
		var tok string
		for _, c := range pre {
			if c.Name == loginCookie {
				tok = c.Value
			}
		}
		form := url.Values{"name": {name}, "password": {pw}, "csrf_token": {tok}}
		r := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, c := range append(pre, extra...) {
			r.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, r)
		return rec
	}
	rec := login(uCustomer.Name, "pw-"+uCustomer.Name)
	var dev *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == DeviceCookie {
			dev = c
		}
	}
	if rec.Code != http.StatusSeeOther || dev == nil || !dev.HttpOnly || dev.SameSite != http.SameSiteStrictMode || dev.Path != "/login" || dev.MaxAge < 30*24*3600 {
		t.Fatalf("login: %d, device cookie %+v", rec.Code, dev)
	}
	login(uCustomer.Name, "pw-"+uCustomer.Name, dev)
	if in := e.auth.inputs[len(e.auth.inputs)-1]; in.Device != dev.Value || in.IP == "" {
		t.Errorf("the device cookie is not passed on: %+v", in)
	}
	e.auth.throttle = func(in LoginInput) error {
		if in.Device == "" {
			return waitErr{90 * time.Second}
		}
		return nil
	}
	rec = login(uCustomer.Name, "pw-"+uCustomer.Name)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "90" || !strings.Contains(rec.Body.String(), "他の端末には影響しません") {
		t.Errorf("throttled: %d Retry-After %q\n%s", rec.Code, rec.Header().Get("Retry-After"), firstLine(rec.Body.String(), "<form"))
	}
	if rec := login(uCustomer.Name, "pw-"+uCustomer.Name, dev); rec.Code != http.StatusSeeOther {
		t.Errorf("a known device while others wait: %d", rec.Code)
	}
	var ra RetryAfterError
	if !errors.As(error(waitErr{}), &ra) {
		t.Fatal("waitErr is not a RetryAfterError")
	}

	own := e.do(uCustomer.Name, "GET", "/settings", nil).Body.String()
	for _, want := range []string{`id="login-attempts"`, "198.51.100.66", "203.0.113.9"} {
		if !strings.Contains(own, want) {
			t.Errorf("the customer's settings lack %q", want)
		}
	}
	for _, not := range []string{`id="login-attempts-all"`, "192.0.2.1", `id="users"`, `id="tokens"`, `id="config-tokens"`} {
		if strings.Contains(own, not) {
			t.Errorf("the customer's settings show %q", not)
		}
	}
	all := e.do(uAdmin.Name, "GET", "/settings", nil).Body.String()
	for _, want := range []string{`id="login-attempts-all"`, "192.0.2.1", "198.51.100.66", `id="users"`} {
		if !strings.Contains(all, want) {
			t.Errorf("the admin's settings lack %q", want)
		}
	}
}
