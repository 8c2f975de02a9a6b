package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// CookieName is the session cookie.
const CookieName = "mamori_session"

// CSRF request fields.
const (
	CSRFHeader = "X-CSRF-Token"
	CSRFField  = "csrf_token"
)

var sessionIDLen = base64.RawURLEncoding.EncodedLen(32)

func validSessionID(id string) bool {
	if len(id) != sessionIDLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil
}

// ThrottledError is returned by Login while the client (this user from
// this device or address) must wait after failed logins; it matches
// ErrRateLimited with errors.Is. Other clients are not affected.
type ThrottledError struct{ Until time.Time }

func (e *ThrottledError) Error() string { return ErrRateLimited.Error() }

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *ThrottledError) Is(target error) bool { return target == ErrRateLimited }

// RetryAfter is how long until the client may try again.
func (e *ThrottledError) RetryAfter(now time.Time) time.Duration { return max(0, e.Until.Sub(now)) }

// LoginRequest is one login attempt.
type LoginRequest struct {
	Name, Password string
	// IP is the client's address as the web layer determined it (it
	// decides which proxy headers to trust).
	IP string
	// Device is the device cookie the browser sent ("" if none).
	Device string
}

// Login checks a user name and password and starts a session (see
// LoginFrom; this one has no device cookie).
func (s *Service) Login(ctx context.Context, name, password, ip string) (Session, error) {
	sess, _, err := s.LoginFrom(ctx, LoginRequest{Name: name, Password: password, IP: ip})
	return sess, err
}

// LoginFrom checks a user name and password and starts a session. It
// returns the device cookie value to set (a device that has logged in is a
// known client of the user: see RateLimit). Failures return
// ErrInvalidCredentials whatever the reason (unknown user, wrong password,
// disabled), or a *ThrottledError. Every attempt is recorded (see
// LoginAttempts).
func (s *Service) LoginFrom(ctx context.Context, req LoginRequest) (Session, string, error) {
	name, ip := req.Name, req.IP
	now := s.now()
	ukey := strings.ToLower(name)
	if len(ukey) > 128 {
		ukey = ukey[:128]
	}
	devID, known := s.deviceKnown(ukey, req.Device)
	client := "ip:" + ipKey(ip)
	if known {
		client = "dev:" + devID
	}
	attempt := LoginAttempt{User: name, Time: now, IP: ip, Known: known}
	v := s.limit.begin(ukey, client, ipKey(ip), known, now)
	if !v.ok {
		s.log.Warn("login refused: too many failures from this client", "user", name, "ip", ip, "known_device", known, "until", v.until.Format(time.RFC3339))
		if v.report {
			attempt.Outcome, attempt.Delay = LoginThrottled, v.until.Sub(now)
			s.record(ctx, attempt)
		}
		return Session{}, "", &ThrottledError{Until: v.until}
	}
	if v.slow > 0 { // a known device while the account is under attack
		attempt.Delay = v.slow
		if err := s.sleep(ctx, v.slow); err != nil {
			s.limit.end(v, false, false, now)
			return Session{}, "", err
		}
	}
	fail := func(reason string) (Session, string, error) {
		s.limit.end(v, true, false, s.now())
		s.log.Warn("login failed", "user", name, "ip", ip, "reason", reason)
		attempt.Outcome = LoginFailure
		s.record(ctx, attempt)
		return Session{}, "", ErrInvalidCredentials
	}
	su, stale, reason, err := s.verify(ctx, name, req.Password)
	if err != nil {
		s.limit.end(v, false, false, now) // not a guess: counts nothing
		return Session{}, "", err
	}
	if reason != "" {
		return fail(reason)
	}
	s.limit.end(v, false, true, now)
	attempt.User, attempt.Outcome = su.Name, LoginSuccess
	s.record(ctx, attempt)
	s.afterLogin(ctx, su, req.Password, stale, now)
	now = s.now().UTC().Truncate(time.Millisecond)
	id := randomSecret()
	if err := s.store.AuthCreateSession(ctx, StoredSession{Digest: digest(id), UserID: su.ID, CreatedAt: now, LastSeen: now, IP: ip}); err != nil {
		return Session{}, "", fmt.Errorf("auth: create session: %w", err)
	}
	s.log.Info("login", "user", su.Name, "ip", ip, "known_device", known)
	device := req.Device
	if !known {
		device = s.newDevice(ukey)
	}
	return Session{ID: id, User: su.User, CreatedAt: now, ExpiresAt: now.Add(SessionLifetime), CSRF: s.CSRFToken(id)}, device, nil
}

// verify looks the user up and checks the password, doing the same
// hashing work whatever the outcome (no timing tells a user exists).
// reason is why the login fails, "" when it succeeds; err is a failure
// that is not a guess (the store, a cancelled wait for a hashing slot).
func (s *Service) verify(ctx context.Context, name, password string) (su StoredUser, stale bool, reason string, err error) {
	release, err := s.acquire(ctx)
	if err != nil {
		return su, false, "", err
	}
	defer release()
	su, err = s.store.AuthUser(ctx, name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return su, false, "", err
	}
	switch {
	case err != nil:
		reason = "unknown user"
	case su.PasswordHash == "":
		reason = "no password set"
	case len(password) > MaxPasswordLen:
		reason = "password too long"
	}
	hash := su.PasswordHash
	if reason != "" {
		hash = s.dummyHash() // same work as for a real user
	}
	ok, stale, verr := VerifyPassword(hash, password, s.params)
	switch {
	case reason != "":
	case verr != nil:
		s.log.Error("stored password hash unusable", "user", su.Name, "err", verr)
		reason = "bad stored hash"
	case !ok:
		reason = "wrong password"
	case su.Disabled:
		reason = "user disabled"
	case !s.sane(su.User):
		reason = "invalid role or tenant"
	}
	return su, stale, reason, nil
}

// afterLogin is the housekeeping of a successful login: the password's
// hash is upgraded when its parameters are stale, and expired sessions
// and old login attempts are pruned.
func (s *Service) afterLogin(ctx context.Context, su StoredUser, password string, stale bool, now time.Time) {
	if stale { // parameters changed since the hash was made: upgrade it
		if h, err := s.hash(ctx, password); err == nil {
			if err := s.store.AuthSetPassword(ctx, su.ID, h, false); err != nil {
				s.log.Warn("password rehash", "user", su.Name, "err", err)
			}
		}
	}
	if _, err := s.store.AuthPruneSessions(ctx, now.Add(-SessionLifetime), now.Add(-SessionIdle)); err != nil {
		s.log.Warn("prune sessions", "err", err)
	}
	if _, err := s.store.AuthPruneLoginAttempts(ctx, now.Add(-LoginAttemptsKept)); err != nil {
		s.log.Warn("prune login attempts", "err", err)
	}
}

func (s *Service) dummyHash() string {
	s.dummyOnce.Do(func() {
		h, err := HashPassword(GeneratePassword(), s.params)
		if err != nil {
			h, _ = HashPassword(GeneratePassword(), DefaultParams)
		}
		s.dummy = h
	})
	return s.dummy
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, sessionID string) error {
	if !validSessionID(sessionID) {
		return nil
	}
	return s.store.AuthDeleteSession(ctx, digest(sessionID))
}

// SessionUser returns the user of a live session and records the use. A
// session lives 12 hours at most and ends after an hour without use, at
// logout, at a password change and when the user is disabled.
func (s *Service) SessionUser(ctx context.Context, sessionID string) (User, bool) {
	if !validSessionID(sessionID) {
		return User{}, false
	}
	d := digest(sessionID)
	ss, u, err := s.store.AuthSession(ctx, d)
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			s.log.Error("session lookup", "err", err)
		}
		return User{}, false
	}
	now := s.now()
	if !now.Before(ss.CreatedAt.Add(SessionLifetime)) || !now.Before(ss.LastSeen.Add(SessionIdle)) {
		if err := s.store.AuthDeleteSession(ctx, d); err != nil {
			s.log.Warn("delete expired session", "err", err)
		}
		return User{}, false
	}
	if u.Disabled || !s.sane(u) {
		return User{}, false
	}
	if now.Sub(ss.LastSeen) >= touchEvery {
		if err := s.store.AuthTouchSession(ctx, d, now); err != nil {
			s.log.Warn("session last_seen", "err", err)
		}
	}
	return u, true
}

// SessionCookie is the cookie that carries a new session.
func (s *Service) SessionCookie(sess Session) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: sess.ID, Path: "/", MaxAge: int(SessionLifetime / time.Second),
		Secure: s.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode}
}

// ClearCookie removes the session cookie (logout).
func (s *Service) ClearCookie() *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, Secure: s.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode}
}

// SessionID returns the session cookie of a request ("" if none).
func SessionID(r *http.Request) string {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return ""
	}
	return c.Value
}

// CSRFToken is the CSRF token of a session: HMAC-SHA256 of the session ID
// under a key derived from the server key.
func (s *Service) CSRFToken(sessionID string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte(sessionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF compares a request's CSRF token with the session's in constant time.
func (s *Service) CheckCSRF(sessionID, token string) bool {
	if sessionID == "" || token == "" {
		return false
	}
	return hmac.Equal([]byte(s.CSRFToken(sessionID)), []byte(token))
}

// safeMethod: methods that must not change state.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

// CheckRequest applies the CSRF rule to a request: safe methods pass;
// requests with an Authorization: Bearer header pass (browsers do not add
// one cross-site; the handler must then authenticate by that token, never
// by the cookie); anything else needs the session's token in the
// X-CSRF-Token header or the csrf_token form field (not the query string).
func (s *Service) CheckRequest(r *http.Request) bool {
	if safeMethod(r.Method) {
		return true
	}
	if tok, ok := BearerToken(r); ok && tok != "" {
		return true
	}
	tok := r.Header.Get(CSRFHeader)
	if tok == "" {
		tok = r.PostFormValue(CSRFField)
	}
	return s.CheckCSRF(SessionID(r), tok)
}

// RequireCSRF wraps a handler with CheckRequest: 403 on failure.
func (s *Service) RequireCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.CheckRequest(r) {
			http.Error(w, "invalid or missing CSRF token; reload the page", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// BearerToken returns the credentials of an "Authorization: Bearer TOKEN"
// header. The scheme is case-insensitive (RFC 9110 §11.1), as Prometheus
// and Grafana clients expect; ok is false without one.
func BearerToken(r *http.Request) (token string, ok bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	return strings.TrimSpace(h[7:]), true
}
