package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// LoginInput is one login attempt.
type LoginInput struct {
	Name, Password string
	IP             string // the client's address
	Device         string // the device cookie ("" if none)
}

// LoginOutcome is a successful login: the session and the device cookie
// value that marks this browser as a known client of the user.
type LoginOutcome struct {
	Session string
	Device  string
}

// RetryAfterError is a login refused until the client has waited.
type RetryAfterError interface {
	error
	RetryAfter(now time.Time) time.Duration
}

// DeviceCookie marks a browser as a known client of the user who logged
// in from it (the throttle of failed logins spares it).
const DeviceCookie = "mamori_device"

// LoginHistory is optionally implemented by Auth: the settings page shows
// the recorded login attempts through it.
type LoginHistory interface {
	// LoginAttempts lists attempts newest first, of one user or all ("").
	LoginAttempts(ctx context.Context, user string, limit int) ([]LoginAttemptInfo, error)
}

// LoginAttemptInfo is one recorded login attempt.
type LoginAttemptInfo struct {
	Time    time.Time
	User    string
	IP      string
	Known   bool   // from a device the user logged in from before
	Outcome string // success, failure, throttled
	Delay   time.Duration
}

// ---- login, logout, language ----

func (c *Console) anonCtx(r *http.Request) *reqCtx {
	return &reqCtx{L: c.locale(r, User{}), Path: r.URL.RequestURI()}
}

// loginToken returns the pre-session CSRF token, setting its cookie if new.
func (c *Console) loginToken(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(loginCookie); err == nil && len(ck.Value) == 32 {
		return ck.Value
	}
	tok := randomHex(16)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: "/", HttpOnly: true, Secure: c.d.SecureCookies, SameSite: http.SameSiteLaxMode})
	return tok
}

func (c *Console) loginTokenOK(r *http.Request) bool {
	ck, err := r.Cookie(loginCookie)
	if err != nil || len(ck.Value) != 32 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostForm.Get("csrf_token"))) == 1
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := c.session(r); ok {
		redirect(w, r, localPath(r.URL.Query().Get("next")))
		return
	}
	c.renderLogin(w, r, http.StatusOK, "", r.URL.Query().Get("next"))
}

func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, code int, errKey, next string) {
	c.renderLoginText(w, r, code, func(l *Locale) string {
		if errKey == "" {
			return ""
		}
		return l.T(errKey)
	}, next)
}

func (c *Console) renderLoginText(w http.ResponseWriter, r *http.Request, code int, msg func(*Locale) string, next string) {
	rc := c.anonCtx(r)
	rc.CSRF = c.loginToken(w, r)
	data := c.base(rc, "login.title", "")
	data["Next"] = localPath(next)
	if m := msg(rc.L); m != "" {
		data["Error"] = m
	}
	c.render(w, rc, code, "login", data)
}

func (c *Console) loginPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	next := r.PostForm.Get("next")
	if !c.loginTokenOK(r) {
		c.renderLogin(w, r, http.StatusForbidden, "error.csrf", next)
		return
	}
	if c.d.Auth == nil {
		c.renderLogin(w, r, http.StatusServiceUnavailable, "login.unavailable", next)
		return
	}
	name, pw := strings.TrimSpace(r.PostForm.Get("name")), r.PostForm.Get("password")
	in := LoginInput{Name: name, Password: pw, IP: clientIP(r)}
	if ck, err := r.Cookie(DeviceCookie); err == nil {
		in.Device = ck.Value
	}
	out, err := c.d.Auth.Login(r.Context(), in)
	if err != nil || out.Session == "" {
		c.log.Info("console: login refused", "user", name, "ip", in.IP, "err", err)
		var ra RetryAfterError
		if errors.As(err, &ra) {
			wait := max(time.Second, ra.RetryAfter(c.now()).Round(time.Second))
			w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)))
			c.renderLoginText(w, r, http.StatusTooManyRequests, func(l *Locale) string { return l.Tf("login.throttled", l.Dur(wait)) }, next)
			return
		}
		c.renderLogin(w, r, http.StatusUnauthorized, "login.failed", next)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: out.Session, Path: "/", HttpOnly: true, Secure: c.d.SecureCookies, SameSite: http.SameSiteLaxMode})
	if out.Device != "" {
		http.SetCookie(w, &http.Cookie{Name: DeviceCookie, Value: out.Device, Path: "/login", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: c.d.SecureCookies, SameSite: http.SameSiteStrictMode})
	}
	redirect(w, r, localPath(next))
}

func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if err := c.d.Auth.Logout(r.Context(), rc.Session); err != nil {
		c.log.Warn("console: logout", "err", err)
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: c.d.SecureCookies, SameSite: http.SameSiteLaxMode})
	redirect(w, r, "/login")
}

// langPost switches the language (cookie lang), from any page or the login
// page; it needs the session's CSRF token, or the login form's.
func (c *Console) langPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	ok := false
	if sid, _, has := c.session(r); has {
		ok = c.d.Auth.CheckCSRF(sid, r.PostForm.Get("csrf_token"))
	} else {
		ok = c.loginTokenOK(r)
	}
	if !ok {
		http.Error(w, "invalid or missing CSRF token", http.StatusForbidden)
		return
	}
	lang := r.PostForm.Get("lang")
	if lang != "ja" && lang != "en" {
		http.Error(w, "lang must be ja or en", http.StatusBadRequest)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true, Secure: c.d.SecureCookies, SameSite: http.SameSiteLaxMode})
	back := r.PostForm.Get("back")
	redirect(w, r, localPath(back))
}
