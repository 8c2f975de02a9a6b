package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"time"
)

// Outcomes of a login attempt.
const (
	LoginSuccess   = "success"
	LoginFailure   = "failure"   // wrong password, unknown user, disabled user
	LoginThrottled = "throttled" // refused unchecked: the client must wait
)

// LoginAttemptsKept is how long login attempts are kept.
const LoginAttemptsKept = 90 * 24 * time.Hour

// LoginAttempt is one recorded login attempt.
type LoginAttempt struct {
	ID      int64
	User    string // as typed (the user's own name on success)
	Time    time.Time
	IP      string
	Known   bool   // from a device the user logged in from before
	Outcome string // success, failure, throttled
	// Delay is, for a throttled attempt, how long the client had to wait
	// still; otherwise the slow-down it waited (the account under attack).
	Delay time.Duration
}

// record stores an attempt; a store error is logged, not returned (the
// login goes on).
func (s *Service) record(ctx context.Context, a LoginAttempt) {
	if len(a.User) > 128 {
		a.User = a.User[:128]
	}
	a.Time = a.Time.UTC().Truncate(time.Millisecond)
	if err := s.store.AuthRecordLogin(ctx, a); err != nil {
		s.log.Warn("record login attempt", "err", err)
	}
}

// LoginAttempts lists recent login attempts, newest first: a user's (by
// name, in any letter case) or everyone's (user "").
func (s *Service) LoginAttempts(ctx context.Context, user string, limit int) ([]LoginAttempt, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return s.store.AuthLoginAttempts(ctx, user, limit)
}

// AccountFailures is how many failed logins count against a user now.
func (s *Service) AccountFailures(user string) int {
	return s.limit.accountFailures(strings.ToLower(user), s.now())
}

// DeviceCookieName is the cookie that marks a browser as a known client of
// the user who logged in from it.
const DeviceCookieName = "mamori_device"

// DeviceLifetime is how long a device cookie is kept.
const DeviceLifetime = 365 * 24 * time.Hour

func (s *Service) deviceMAC(user, id string) string {
	m := hmac.New(sha256.New, s.deviceKey)
	m.Write([]byte(strings.ToLower(user) + "\x00" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// newDevice makes a device cookie value for user: a random id signed with
// the user's name under the server key.
func (s *Service) newDevice(user string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	return id + "." + s.deviceMAC(user, id)
}

// deviceKnown checks a device cookie value for user and returns its id.
func (s *Service) deviceKnown(user, tok string) (string, bool) {
	id, mac, ok := strings.Cut(tok, ".")
	if !ok || len(id) != 22 || len(mac) != 43 {
		return "", false
	}
	if !hmac.Equal([]byte(mac), []byte(s.deviceMAC(user, id))) {
		return "", false
	}
	return id, true
}

// DeviceCookie is the cookie that carries a device value from LoginFrom.
func (s *Service) DeviceCookie(value string) *http.Cookie {
	return &http.Cookie{Name: DeviceCookieName, Value: value, Path: "/login", MaxAge: int(DeviceLifetime / time.Second),
		Secure: s.secure, HttpOnly: true, SameSite: http.SameSiteStrictMode}
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
