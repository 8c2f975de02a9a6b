package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// fast argon2 parameters for tests; the defaults are exercised once.
var testParams = Params{Time: 1, MemoryKiB: 64, Threads: 1}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	svc   *Service
	store *memStore
	clock *clock
	logs  *bytes.Buffer
}

func newFixture(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	f := &fixture{store: &memStore{}, clock: &clock{t: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}, logs: &bytes.Buffer{}}
	log := slog.New(slog.NewTextHandler(&syncWriter{w: f.logs}, nil))
	f.svc = New(f.store, []byte("0123456789abcdef0123456789abcdef"), log, append([]Option{WithClock(f.clock.now), WithParams(testParams)}, opts...)...)
	return f
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (f *fixture) user(t *testing.T, name, role, tenant string) User {
	t.Helper()
	u, err := f.svc.CreateUser(context.Background(), User{Name: name, Role: role, Tenant: tenant}, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestHashRoundTrip(t *testing.T) {
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	for _, pw := range []string{"correct horse battery", "パスワードは十二文字以上です", strings.Repeat("x", MaxPasswordLen), ""} {
		h, err := HashPassword(pw, testParams)
		if err != nil {
			t.Fatal(err)
		}
		if !phc.MatchString(h) {
			t.Fatalf("not a PHC string: %s", h)
		}
		h2, _ := HashPassword(pw, testParams)
		if h == h2 {
			t.Fatal("same hash twice: salt not random")
		}
		for _, tc := range []struct {
			try  string
			want bool
		}{{pw, true}, {pw + "x", false}, {strings.ToUpper(pw) + "!", false}, {"", pw == ""}} {
			ok, stale, err := VerifyPassword(h, tc.try, testParams)
			if err != nil || ok != tc.want || stale {
				t.Errorf("verify(%q against hash of %q) = %v stale %v err %v, want %v", tc.try, pw, ok, stale, err, tc.want)
			}
		}
		if _, stale, _ := VerifyPassword(h, pw, DefaultParams); !stale {
			t.Error("hash with other parameters not reported stale")
		}
	}
}

func TestDefaultParams(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB hash")
	}
	h, err := HashPassword("correct horse battery", DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=1,p=2$") {
		t.Fatalf("default hash %s", h)
	}
	if ok, stale, err := VerifyPassword(h, "correct horse battery", DefaultParams); !ok || stale || err != nil {
		t.Fatalf("verify default: %v %v %v", ok, stale, err)
	}
}

func TestDecodeHashRejects(t *testing.T) {
	good, _ := HashPassword("correct horse battery", testParams)
	parts := strings.Split(good, "$")
	for name, h := range map[string]string{
		"empty":       "",
		"bcrypt":      "$2a$10$abcdefghijklmnopqrstuuOZ2Tu7lp3ZmfKxyTgnA1ZQkXn3/jDAi",
		"argon2i":     strings.Replace(good, "argon2id", "argon2i", 1),
		"version":     strings.Replace(good, "v=19", "v=16", 1),
		"huge memory": strings.Replace(good, "m=64,", "m=4194304,", 1),
		"many passes": strings.Replace(good, "t=1,", "t=1000,", 1),
		"no threads":  strings.Replace(good, "p=1", "p=0", 1),
		"bad salt":    strings.Join([]string{"", parts[1], parts[2], parts[3], "!!!", parts[5]}, "$"),
		"short key":   strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$"),
		"extra field": good + "$x",
	} {
		if ok, _, err := VerifyPassword(h, "correct horse battery", testParams); ok || err == nil {
			t.Errorf("%s: %q accepted (ok %v err %v)", name, h, ok, err)
		}
	}
}

func TestPasswordPolicy(t *testing.T) {
	for _, tc := range []struct {
		name, pw string
		ok       bool
	}{
		{"alice", "correct horse battery", true},
		{"alice", "12345678901", false}, // 11
		{"alice", "123456789012", true}, // 12
		{"alice", "十二文字のパスワードです", true}, // 12 characters, more bytes
		{"alice", "短いパスワード", false},
		{"administrator", "Administrator", false}, // the name, in another case
		{"administrator", " administrator ", false},
		{"alice", "aaaaaaaaaaaaaaaa", false},
		{"alice", strings.Repeat("ab", MaxPasswordLen/2+1), false},
		{"alice", "bad\xffutf8 password", false},
	} {
		err := CheckPasswordPolicy(tc.name, tc.pw)
		if (err == nil) != tc.ok {
			t.Errorf("policy(%q, %q) = %v, want ok %v", tc.name, tc.pw, err, tc.ok)
		}
	}
}

func TestRoleTenant(t *testing.T) {
	for _, tc := range []struct {
		role, tenant string
		err          string // "" = valid
	}{
		{RoleAdmin, "", ""},
		{RoleOperator, "", ""},
		{RoleCustomer, "acme", ""},
		{RoleViewer, "acme", ""},
		{RoleAdmin, "acme", "takes no tenant"},
		{RoleOperator, "acme", "takes no tenant"},
		{RoleCustomer, "", "needs a tenant"},
		{RoleViewer, "", "needs a tenant"},
		{RoleViewer, " acme", "invalid tenant"},
		{RoleViewer, "ac\nme", "invalid tenant"},
		{"root", "", "unknown role \"root\"; use admin, operator, customer or viewer"},
		{"Admin", "", "unknown role"},
		{"", "", "unknown role"},
	} {
		err := ValidateRole(tc.role, tc.tenant)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ValidateRole(%q, %q) = %v, want %q", tc.role, tc.tenant, err, tc.err)
		}
	}
	f := newFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		u  User
		ok bool
	}{
		{User{Name: "alice", Role: RoleCustomer, Tenant: "acme", Lang: "ja", TimeZone: "Asia/Tokyo"}, true},
		{User{Name: "bob", Role: RoleCustomer}, false},
		{User{Name: "carol", Role: RoleOperator, Tenant: "acme"}, false},
		{User{Name: "dave", Role: RoleViewer, Tenant: "acme", Lang: "fr"}, false},
		{User{Name: "erin", Role: RoleViewer, Tenant: "acme", TimeZone: "Mars/Olympus"}, false},
		{User{Name: "bad name", Role: RoleAdmin}, false},
		{User{Name: "-x", Role: RoleAdmin}, false},
		{User{Name: "ops@example.com", Role: RoleOperator}, true},
		{User{Name: "ALICE", Role: RoleAdmin}, false}, // exists, in another case
	} {
		_, err := f.svc.CreateUser(ctx, tc.u, "correct horse battery")
		if (err == nil) != tc.ok {
			t.Errorf("CreateUser(%+v) = %v, want ok %v", tc.u, err, tc.ok)
		}
	}
	if _, err := f.svc.CreateUser(ctx, User{Name: "zed", Role: RoleAdmin}, "short"); err == nil {
		t.Error("policy not applied on CreateUser")
	}
	if u, err := f.svc.UserByName(ctx, "Alice"); err != nil || u.Name != "alice" || u.Tenant != "acme" || u.Lang != "ja" {
		t.Errorf("UserByName case-insensitive: %+v %v", u, err)
	}
	if _, err := f.svc.UserByName(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	if err := f.svc.SetRole(ctx, "alice", RoleViewer, "globex"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetRole(ctx, "alice", RoleAdmin, "globex"); err == nil {
		t.Error("admin with tenant accepted by SetRole")
	}
}

func TestTokens(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user(t, "alice", RoleCustomer, "acme")
	f.user(t, "bob", RoleOperator, "")
	plain, tok, err := f.svc.CreateToken(ctx, "alice", "grafana", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^mamori_[A-Za-z0-9_-]{43}$`).MatchString(plain) || !LooksLikeToken(plain) {
		t.Fatalf("token %q", plain)
	}
	for _, st := range f.store.tokens {
		if bytes.Contains(st.Digest, []byte(plain)) || len(st.Digest) != 32 {
			t.Fatal("token stored in the clear")
		}
	}
	short, _, err := f.svc.CreateToken(ctx, "alice", "ci", 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	bobs, bobTok, _ := f.svc.CreateToken(ctx, "bob", "", 0)

	lookup := func(s string) (User, bool) { return f.svc.LookupToken(ctx, s) }
	for _, tc := range []struct {
		name, token string
		ok          bool
		user        string
	}{
		{"valid", plain, true, "alice"},
		{"other user", bobs, true, "bob"},
		{"empty", "", false, ""},
		{"no prefix", strings.TrimPrefix(plain, TokenPrefix), false, ""},
		{"changed", changeChar(plain, 20), false, ""},
		{"too long", plain + "A", false, ""},
		{"not base64", TokenPrefix + strings.Repeat("!", 43), false, ""},
	} {
		u, ok := lookup(tc.token)
		if ok != tc.ok || u.Name != tc.user {
			t.Errorf("%s: lookup = %+v %v", tc.name, u, ok)
		}
	}
	if u, _ := lookup(plain); u.Role != RoleCustomer || u.Tenant != "acme" {
		t.Errorf("token user %+v", u)
	}

	// last_used_at: set at first use, then at most once a minute
	touches := f.store.touches
	lookup(plain)
	lookup(plain)
	if f.store.touches != touches {
		t.Errorf("touched within the minute: %d → %d", touches, f.store.touches)
	}
	f.clock.add(time.Minute)
	lookup(plain)
	if f.store.touches != touches+1 {
		t.Errorf("not touched after a minute: %d → %d", touches, f.store.touches)
	}
	ts, _ := f.svc.Tokens(ctx, "alice")
	if len(ts) != 2 || ts[1].Label != "grafana" || !ts[1].LastUsedAt.Equal(f.clock.now()) || ts[0].ExpiresAt.IsZero() || !ts[1].ExpiresAt.IsZero() {
		t.Errorf("tokens %+v", ts)
	}

	// the role at use time counts
	if err := f.svc.SetRole(ctx, "alice", RoleViewer, "globex"); err != nil {
		t.Fatal(err)
	}
	if u, _ := lookup(plain); u.Role != RoleViewer || u.Tenant != "globex" {
		t.Errorf("token kept the old rights: %+v", u)
	}

	// disabled user: tokens stop; enabled again: they work again
	if err := f.svc.DisableUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, ok := lookup(plain); ok {
		t.Error("disabled user's token works")
	}
	if _, _, err := f.svc.CreateToken(ctx, "alice", "x", 0); !errors.Is(err, ErrDisabled) {
		t.Errorf("token for a disabled user: %v", err)
	}
	f.svc.EnableUser(ctx, "alice")
	if _, ok := lookup(plain); !ok {
		t.Error("re-enabled user's token refused")
	}

	// a customer row without its tenant (edited by hand) is refused, not
	// given every tenant
	f.store.users[0].Role, f.store.users[0].Tenant = RoleCustomer, ""
	if _, ok := lookup(plain); ok {
		t.Error("customer without tenant accepted")
	}
	f.store.users[0].Role, f.store.users[0].Tenant = RoleViewer, "globex"

	// expiry
	if _, ok := lookup(short); !ok {
		t.Error("fresh expiring token refused")
	}
	f.clock.add(90 * 24 * time.Hour)
	if _, ok := lookup(short); ok {
		t.Error("expired token works")
	}
	if _, ok := lookup(plain); !ok {
		t.Error("token without expiry expired")
	}

	// revoke: only the owner (or anyone with owner "")
	if err := f.svc.RevokeToken(ctx, "alice", bobTok.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("alice revoked bob's token: %v", err)
	}
	if err := f.svc.RevokeToken(ctx, "alice", tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := lookup(plain); ok {
		t.Error("revoked token works")
	}
	if err := f.svc.RevokeToken(ctx, "", tok.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoked twice: %v", err)
	}
	if err := f.svc.RevokeToken(ctx, "", bobTok.ID); err != nil {
		t.Fatal(err)
	}
	if ts, _ := f.svc.Tokens(ctx, "alice"); len(ts) != 1 {
		t.Errorf("revoked token listed: %+v", ts)
	}
	if _, _, err := f.svc.CreateToken(ctx, "nobody", "", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("token for unknown user: %v", err)
	}
	if _, _, err := f.svc.CreateToken(ctx, "bob", "", -time.Hour); err == nil {
		t.Error("negative expiry accepted")
	}
	if _, _, err := f.svc.CreateToken(ctx, "bob", "a\x1bb", 0); err == nil {
		t.Error("control character in label accepted")
	}
}

func TestSessions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user(t, "alice", RoleViewer, "acme")
	login := func() Session {
		t.Helper()
		s, err := f.svc.Login(ctx, "alice", "correct horse battery", "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := login()
	if !validSessionID(s.ID) || s.CSRF == "" || !s.ExpiresAt.Equal(s.CreatedAt.Add(12*time.Hour)) || s.User.Name != "alice" {
		t.Fatalf("session %+v", s)
	}
	if bytes.Contains(f.store.sessions[0].Digest, []byte(s.ID)) {
		t.Fatal("session ID stored in the clear")
	}
	if u, ok := f.svc.SessionUser(ctx, s.ID); !ok || u.Name != "alice" || u.Tenant != "acme" {
		t.Fatalf("SessionUser = %+v %v", u, ok)
	}
	for _, bad := range []string{"", "x", s.ID[:42] + "A", s.ID + "A"} {
		if _, ok := f.svc.SessionUser(ctx, bad); ok && bad != s.ID {
			t.Errorf("session %q accepted", bad)
		}
	}

	// idle timeout: 59 minutes of silence is fine, use keeps it alive
	f.clock.add(59 * time.Minute)
	if _, ok := f.svc.SessionUser(ctx, s.ID); !ok {
		t.Fatal("session ended before the idle timeout")
	}
	f.clock.add(59 * time.Minute)
	if _, ok := f.svc.SessionUser(ctx, s.ID); !ok {
		t.Fatal("use did not extend the session")
	}
	f.clock.add(time.Hour)
	if _, ok := f.svc.SessionUser(ctx, s.ID); ok {
		t.Fatal("session alive after an hour idle")
	}
	if len(f.store.sessions) != 0 {
		t.Error("expired session not deleted")
	}

	// absolute lifetime: used every 30 minutes, it still ends at 12 h
	s = login()
	for i := 0; i < 23; i++ {
		f.clock.add(30 * time.Minute)
		if _, ok := f.svc.SessionUser(ctx, s.ID); !ok {
			t.Fatalf("session ended after %v", time.Duration(i+1)*30*time.Minute)
		}
	}
	f.clock.add(30 * time.Minute)
	if _, ok := f.svc.SessionUser(ctx, s.ID); ok {
		t.Fatal("session alive after 12 h")
	}

	// logout
	s = login()
	other := login()
	if err := f.svc.Logout(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.svc.SessionUser(ctx, s.ID); ok {
		t.Fatal("session alive after logout")
	}
	if _, ok := f.svc.SessionUser(ctx, other.ID); !ok {
		t.Fatal("logout ended another session")
	}
	// password change ends every session; the new password works
	if err := f.svc.SetPassword(ctx, "alice", "a new long passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.svc.SessionUser(ctx, other.ID); ok {
		t.Fatal("session alive after password change")
	}
	if _, err := f.svc.Login(ctx, "alice", "correct horse battery", "192.0.2.1"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("old password: %v", err)
	}
	s, err := f.svc.Login(ctx, "ALICE", "a new long passphrase", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	// disabling ends sessions and refuses logins
	f.user(t, "root", RoleAdmin, "")
	if err := f.svc.DisableUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.svc.SessionUser(ctx, s.ID); ok {
		t.Fatal("disabled user's session alive")
	}
	if _, err := f.svc.Login(ctx, "alice", "a new long passphrase", "192.0.2.1"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("disabled login: %v", err)
	}
	if strings.Contains(f.logs.String(), "passphrase") || strings.Contains(f.logs.String(), "horse") {
		t.Fatalf("password in the log:\n%s", f.logs)
	}
	if !strings.Contains(f.logs.String(), `msg="login failed" user=alice ip=192.0.2.1 reason="wrong password"`) {
		t.Errorf("failed login not logged:\n%s", f.logs)
	}
}

func TestRehashOnLogin(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user(t, "alice", RoleAdmin, "")
	f.svc.params = Params{Time: 2, MemoryKiB: 128, Threads: 1}
	s, err := f.svc.Login(ctx, "alice", "correct horse battery", "")
	if err != nil {
		t.Fatal(err)
	}
	if h := f.store.users[0].PasswordHash; !strings.Contains(h, "m=128,t=2,p=1") {
		t.Fatalf("not rehashed: %s", h)
	}
	if _, ok := f.svc.SessionUser(ctx, s.ID); !ok {
		t.Fatal("rehash ended the session")
	}
}

func TestCookies(t *testing.T) {
	for _, secure := range []bool{true, false} {
		f := newFixture(t, WithSecureCookies(secure))
		c := f.svc.SessionCookie(Session{ID: "abc"})
		if c.Name != "mamori_session" || c.Value != "abc" || c.Secure != secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 12*3600 {
			t.Errorf("cookie %+v", c)
		}
		if c := f.svc.ClearCookie(); c.MaxAge >= 0 || c.Value != "" || c.Name != CookieName {
			t.Errorf("clear cookie %+v", c)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: CookieName, Value: "xyz"})
	if SessionID(r) != "xyz" || SessionID(httptest.NewRequest("GET", "/", nil)) != "" {
		t.Error("SessionID")
	}
}

func TestCSRF(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user(t, "alice", RoleCustomer, "acme")
	s, err := f.svc.Login(ctx, "alice", "correct horse battery", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := f.svc.Login(ctx, "alice", "correct horse battery", "192.0.2.1")
	if s.CSRF != f.svc.CSRFToken(s.ID) || s.CSRF == s2.CSRF {
		t.Fatal("CSRF token not per session")
	}
	other := New(f.store, []byte("another key, another server....."), nil)
	if other.CSRFToken(s.ID) == s.CSRF {
		t.Fatal("CSRF token does not depend on the key")
	}
	for _, tc := range []struct {
		sid, tok string
		ok       bool
	}{
		{s.ID, s.CSRF, true},
		{s.ID, s2.CSRF, false},
		{s2.ID, s.CSRF, false},
		{s.ID, "", false},
		{"", "", false},
		{"", f.svc.CSRFToken(""), false},
		{s.ID, s.CSRF[:len(s.CSRF)-1], false},
	} {
		if got := f.svc.CheckCSRF(tc.sid, tc.tok); got != tc.ok {
			t.Errorf("CheckCSRF(%q, %q) = %v", tc.sid, tc.tok, got)
		}
	}

	form := func(tok string) *http.Request {
		r := httptest.NewRequest("POST", "/incidents/1/ack", strings.NewReader(url.Values{CSRFField: {tok}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(&http.Cookie{Name: CookieName, Value: s.ID})
		return r
	}
	withHeader := func(method, tok string) *http.Request {
		r := httptest.NewRequest(method, "/api/x", nil)
		r.AddCookie(&http.Cookie{Name: CookieName, Value: s.ID})
		if tok != "" {
			r.Header.Set(CSRFHeader, tok)
		}
		return r
	}
	bearer := httptest.NewRequest("POST", "/api/v1/run/x", nil)
	bearer.Header.Set("Authorization", "Bearer mamori_x")
	query := httptest.NewRequest("POST", "/incidents/1/ack?csrf_token="+s.CSRF, nil)
	query.AddCookie(&http.Cookie{Name: CookieName, Value: s.ID})
	for _, tc := range []struct {
		name string
		r    *http.Request
		ok   bool
	}{
		{"GET needs none", withHeader("GET", ""), true},
		{"HEAD needs none", withHeader("HEAD", ""), true},
		{"form field", form(s.CSRF), true},
		{"form field of another session", form(s2.CSRF), false},
		{"form without token", form(""), false},
		{"header", withHeader("POST", s.CSRF), true},
		{"DELETE with header", withHeader("DELETE", s.CSRF), true},
		{"PUT without", withHeader("PUT", ""), false},
		{"bearer exempt", bearer, true},
		{"query string not accepted", query, false},
	} {
		if got := f.svc.CheckRequest(tc.r); got != tc.ok {
			t.Errorf("%s: CheckRequest = %v", tc.name, got)
		}
	}
	h := f.svc.RequireCSRF(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	for r, want := range map[*http.Request]int{form(s.CSRF): 204, form("nope"): 403} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("RequireCSRF: %d, want %d", w.Code, want)
		}
	}
}

func TestLoginRateLimit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user(t, "alice", RoleViewer, "acme")
	const good = "correct horse battery"
	try := func(name, pw, ip string) error {
		_, err := f.svc.Login(ctx, name, pw, ip)
		return err
	}
	const bad = "198.51.100.7"
	// 3 failures at once, then the client waits 1 s, 2 s, 4 s, …
	for i := range 3 {
		if err := try("alice", "wrong password!", bad); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	var te *ThrottledError
	if err := try("alice", good, bad); !errors.As(err, &te) || !errors.Is(err, ErrRateLimited) || te.RetryAfter(f.clock.now()) != time.Second {
		t.Fatalf("after 3 failures: %v %+v", err, te)
	}
	if err := try("Alice", good, bad); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("the delay bypassed by letter case: %v", err)
	}
	if err := try("alice", good, "203.0.113.9"); err != nil {
		t.Fatalf("another client is slowed down too: %v", err)
	}
	f.clock.add(time.Second)
	if err := try("alice", "wrong password!", bad); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("after the delay: %v", err)
	}
	if err := try("alice", good, bad); !errors.As(err, &te) || te.RetryAfter(f.clock.now()) != 2*time.Second {
		t.Fatalf("second delay: %v %+v", err, te)
	}
	f.clock.add(2 * time.Second)
	if err := try("alice", good, bad); err != nil {
		t.Fatalf("the right password after the delay: %v", err)
	}
	// a success forgets the client's failures
	for range 3 {
		if err := try("alice", "wrong password!", bad); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("failures before a success still counted: %v", err)
		}
	}
	// the delays grow to MaxDelay, and are forgotten a window after the last failure
	for fails := 0; fails < 20; {
		err := try("alice", "wrong password!", bad)
		if errors.As(err, &te) {
			f.clock.add(te.RetryAfter(f.clock.now()))
			continue
		}
		fails++
	}
	if err := try("alice", good, bad); !errors.As(err, &te) || te.RetryAfter(f.clock.now()) != 15*time.Minute {
		t.Fatalf("longest delay: %v %+v", err, te)
	}
	f.clock.add(15 * time.Minute)
	if err := try("alice", "wrong password!", bad); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("after the longest delay: %v", err)
	}
	if err := try("alice", good, bad); !errors.As(err, &te) || te.RetryAfter(f.clock.now()) != 15*time.Minute {
		t.Fatalf("a failure right after the longest delay is forgotten: %v %+v", err, te)
	}
	f.clock.add(30 * time.Minute) // the delay, then a window without failures
	for range 3 {
		if err := try("alice", "wrong password!", bad); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("failures not forgotten a window after the last delay: %v", err)
		}
	}
	if !strings.Contains(f.logs.String(), "login refused: too many failures") {
		t.Error("the refusal is not logged")
	}
}

func TestLoginRateLimitPerIP(t *testing.T) {
	f := newFixture(t, WithRateLimit(RateLimit{IPFree: 10}))
	ctx := context.Background()
	f.user(t, "alice", RoleViewer, "acme")
	const good = "correct horse battery"
	_, dev, err := f.svc.LoginFrom(ctx, LoginRequest{Name: "alice", Password: good, IP: "198.51.100.1"})
	if err != nil || dev == "" {
		t.Fatalf("login: %q %v", dev, err)
	}
	// password spraying: 10 names, one guess each, from one address
	for i := range 10 {
		if _, err := f.svc.Login(ctx, fmt.Sprintf("user%d", i), "Password2026!", "192.0.2.7"); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if _, err := f.svc.Login(ctx, "alice", good, "192.0.2.7"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("address not slowed down: %v", err)
	}
	if _, err := f.svc.Login(ctx, "alice", good, "192.0.2.7:51234"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("address with port not recognised: %v", err)
	}
	if _, err := f.svc.Login(ctx, "alice", good, "192.0.2.8"); err != nil {
		t.Fatalf("another address slowed down: %v", err)
	}
	// alice's own browser behind that address is a known client
	if _, _, err := f.svc.LoginFrom(ctx, LoginRequest{Name: "alice", Password: good, IP: "192.0.2.7", Device: dev}); err != nil {
		t.Fatalf("a known device behind a spraying address: %v", err)
	}
	// IPv6: one /64 is one client
	for i := range 10 {
		f.svc.Login(ctx, fmt.Sprintf("v6user%d", i), "Password2026!", fmt.Sprintf("2001:db8:1:2::%x", i+1))
	}
	if _, err := f.svc.Login(ctx, "alice", good, "[2001:db8:1:2:ffff::1]:443"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("/64 not slowed down: %v", err)
	}
	if _, err := f.svc.Login(ctx, "alice", good, "2001:db8:1:3::1"); err != nil {
		t.Fatalf("other /64 slowed down: %v", err)
	}
	f.clock.add(time.Second)
	if _, err := f.svc.Login(ctx, "alice", good, "192.0.2.7"); err != nil {
		t.Fatalf("address still waiting after its delay: %v", err)
	}
}

func TestLoginParallelGuesses(t *testing.T) {
	f := newFixture(t)
	f.user(t, "alice", RoleViewer, "acme")
	var wg sync.WaitGroup
	var mu sync.Mutex
	tried := 0
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.svc.Login(context.Background(), "alice", "wrong password!", "192.0.2.1"); errors.Is(err, ErrInvalidCredentials) {
				mu.Lock()
				tried++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if tried != DefaultRateLimit.Free {
		t.Fatalf("%d guesses checked in parallel, want %d", tried, DefaultRateLimit.Free)
	}
}

func TestLimiterBounded(t *testing.T) {
	l := newLimiter(RateLimit{Window: time.Minute, Free: 2, IPFree: 2, AccountMax: 2, MaxEntries: 3})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// make "victim" wait, then flood with other names
	for range 2 {
		l.end(l.begin("victim", "ip:", "", false, now), true, false, now)
	}
	for i := range 100 {
		ip := fmt.Sprintf("10.0.0.%d", i)
		l.end(l.begin(fmt.Sprintf("n%d", i), "ip:"+ip, ip, false, now), true, false, now)
	}
	if len(l.pairs.m) > 3 || len(l.ips.m) > 3 || len(l.accounts.m) > 3 {
		t.Fatalf("unbounded: %d pairs, %d ips, %d accounts", len(l.pairs.m), len(l.ips.m), len(l.accounts.m))
	}
	if v := l.begin("victim", "ip:", "", false, now); v.ok {
		t.Fatal("a waiting entry was evicted before idle ones")
	}
}

func TestFirstStartAndLastAdmin(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	created, name, pw, err := f.svc.FirstStart(ctx)
	if err != nil || !created || name != "admin" || len(pw) < 12 {
		t.Fatalf("FirstStart = %v %q %q %v", created, name, pw, err)
	}
	s, err := f.svc.Login(ctx, name, pw, "127.0.0.1")
	if err != nil || s.User.Role != RoleAdmin || s.User.Tenant != "" {
		t.Fatalf("first admin cannot log in: %+v %v", s, err)
	}
	if created, _, _, err := f.svc.FirstStart(ctx); created || err != nil {
		t.Fatalf("second FirstStart created again: %v %v", created, err)
	}
	if err := f.svc.DisableUser(ctx, "admin"); err == nil || !strings.Contains(err.Error(), "last enabled admin") {
		t.Fatalf("last admin disabled: %v", err)
	}
	if err := f.svc.SetRole(ctx, "admin", RoleOperator, ""); err == nil {
		t.Fatal("last admin demoted")
	}
	f.user(t, "second", RoleAdmin, "")
	if err := f.svc.DisableUser(ctx, "admin"); err != nil {
		t.Fatal(err)
	}
	if us, _ := f.svc.Users(ctx); len(us) != 2 || !us[0].Disabled || us[1].Disabled {
		t.Fatalf("users %+v", us)
	}
	if err := f.svc.SetPreferences(ctx, "second", "ja", "Asia/Tokyo"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetPreferences(ctx, "second", "de", ""); err == nil {
		t.Fatal("unknown language accepted")
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, err := LoadOrCreateKey(dir)
	if err != nil || len(k1) != 32 {
		t.Fatalf("%x %v", k1, err)
	}
	fi, err := os.Stat(filepath.Join(dir, "secret.key"))
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != 32 {
		t.Fatalf("key file %v %v", fi, err)
	}
	k2, err := LoadOrCreateKey(dir)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatal("key changed on reload")
	}
	// a key made by another part of mamori (raw bytes) is used as is
	other := bytes.Repeat([]byte{7}, 40)
	os.WriteFile(filepath.Join(dir, KeyFile), other, 0o600)
	if k, err := LoadOrCreateKey(dir); err != nil || !bytes.Equal(k, other) {
		t.Fatalf("existing key not used: %x %v", k, err)
	}
	// a short one is replaced
	os.WriteFile(filepath.Join(dir, KeyFile), []byte("short"), 0o600)
	if k, err := LoadOrCreateKey(dir); err != nil || len(k) != 32 {
		t.Fatalf("short key: %x %v", k, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
	// concurrent first use: one key for all
	dir = t.TempDir()
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() { defer wg.Done(); keys[i], _ = LoadOrCreateKey(dir) }()
	}
	wg.Wait()
	for _, k := range keys {
		if !bytes.Equal(k, keys[0]) || len(k) != 32 {
			t.Fatalf("keys differ: %x", keys)
		}
	}
}

func changeChar(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}
