// Package auth is mamori's identity layer: users with roles and tenants,
// argon2id password hashes, per-user API tokens, web console sessions with
// CSRF tokens, and login rate limiting.
//
// Secrets never reach the store in the clear: API tokens and session IDs are
// kept as SHA-256 digests, passwords as argon2id PHC strings.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Roles. A User's Role is one of these.
const (
	RoleAdmin    = "admin"    // everything, user administration included
	RoleOperator = "operator" // all tenants, no user administration
	RoleCustomer = "customer" // own tenant: view, acknowledge, comment, request maintenance, open tickets
	RoleViewer   = "viewer"   // own tenant, read-only
)

// Roles lists the roles from most to least powerful.
var Roles = []string{RoleAdmin, RoleOperator, RoleCustomer, RoleViewer}

// User is a person (or robot) who may log in or hold API tokens.
type User struct {
	ID        int64
	Name      string
	Role      string
	Tenant    string // "" for admin and operator; required for customer and viewer
	Lang      string // "", "ja" or "en" ("" = from the browser)
	TimeZone  string // IANA name; "" = default for the language
	CreatedAt time.Time
	Disabled  bool
}

// Token describes an API token; the secret itself is shown once at creation.
type Token struct {
	ID         int64
	UserID     int64
	User       string // the owner's name
	Label      string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used; updated at most once a minute
	ExpiresAt  time.Time // zero: never expires
	RevokedAt  time.Time // zero: not revoked
}

// Session is a web console login. ID is the cookie value; it is only known
// to the Service right after Login (the store keeps its digest).
type Session struct {
	ID        string
	User      User
	CreatedAt time.Time
	ExpiresAt time.Time // absolute expiry (CreatedAt + 12h); idle expiry comes sooner without use
	CSRF      string    // the CSRF token to embed in forms
}

// StoredUser is a user row as the store keeps it.
type StoredUser struct {
	User
	PasswordHash string // argon2id PHC string; "" = cannot log in
}

// StoredToken is an API token row; Digest is SHA-256 of the plain token.
type StoredToken struct {
	Token
	Digest []byte
}

// StoredSession is a session row; Digest is SHA-256 of the session ID.
type StoredSession struct {
	Digest    []byte
	UserID    int64
	CreatedAt time.Time
	LastSeen  time.Time
	IP        string
}

// Errors. Store implementations return ErrNotFound and ErrExists.
var (
	ErrNotFound           = errors.New("not found")
	ErrExists             = errors.New("already exists")
	ErrInvalidCredentials = errors.New("wrong user name or password")
	ErrRateLimited        = errors.New("too many failed logins; try again later")
	ErrDisabled           = errors.New("the user is disabled")
)

// Store keeps users, tokens and sessions. *sqlite.Store implements it.
// Names compare case-insensitively (they are ASCII, see ValidateName).
type Store interface {
	// AuthCreateUser inserts a user (its ID is ignored) and returns the new
	// ID; ErrExists if the name is taken in any letter case.
	AuthCreateUser(ctx context.Context, u StoredUser) (int64, error)
	// AuthUser returns a user by name, or ErrNotFound.
	AuthUser(ctx context.Context, name string) (StoredUser, error)
	// AuthUsers lists all users by name.
	AuthUsers(ctx context.Context) ([]User, error)
	// AuthCountUsers counts users (disabled ones included).
	AuthCountUsers(ctx context.Context) (int, error)
	// AuthUpdateUser sets Role, Tenant, Lang and TimeZone of user u.ID.
	AuthUpdateUser(ctx context.Context, u User) error
	// AuthSetPassword stores a new hash; endSessions also deletes all of the
	// user's sessions in the same transaction.
	AuthSetPassword(ctx context.Context, userID int64, hash string, endSessions bool) error
	// AuthSetDisabled disables (deleting the user's sessions) or enables a user.
	AuthSetDisabled(ctx context.Context, userID int64, disabled bool, at time.Time) error

	// AuthCreateToken inserts a token and returns its ID.
	AuthCreateToken(ctx context.Context, t StoredToken) (int64, error)
	// AuthToken finds a token by digest, with its owner; ErrNotFound.
	AuthToken(ctx context.Context, digest []byte) (Token, User, error)
	// AuthTokens lists a user's tokens that are not revoked, newest first.
	AuthTokens(ctx context.Context, userID int64) ([]Token, error)
	// AuthTouchToken sets last_used_at.
	AuthTouchToken(ctx context.Context, id int64, at time.Time) error
	// AuthRevokeToken revokes a token; ownerID 0 = any owner. ErrNotFound
	// if there is no such unrevoked token (of that owner).
	AuthRevokeToken(ctx context.Context, id, ownerID int64, at time.Time) error

	// AuthCreateSession inserts a session.
	AuthCreateSession(ctx context.Context, s StoredSession) error
	// AuthSession finds a session by digest, with its user; ErrNotFound.
	AuthSession(ctx context.Context, digest []byte) (StoredSession, User, error)
	// AuthTouchSession sets last_seen.
	AuthTouchSession(ctx context.Context, digest []byte, at time.Time) error
	// AuthDeleteSession deletes one session (no error if absent).
	AuthDeleteSession(ctx context.Context, digest []byte) error
	// AuthPruneSessions deletes sessions created before createdBefore or
	// last seen before seenBefore.
	AuthPruneSessions(ctx context.Context, createdBefore, seenBefore time.Time) (int64, error)

	// AuthRecordLogin stores a login attempt.
	AuthRecordLogin(ctx context.Context, a LoginAttempt) error
	// AuthLoginAttempts lists login attempts newest first, of one user
	// name (any letter case) or of all ("").
	AuthLoginAttempts(ctx context.Context, user string, limit int) ([]LoginAttempt, error)
	// AuthPruneLoginAttempts deletes attempts older than before.
	AuthPruneLoginAttempts(ctx context.Context, before time.Time) (int64, error)
}

// Lifetimes.
const (
	SessionLifetime = 12 * time.Hour
	SessionIdle     = time.Hour
	touchEvery      = time.Minute // last_used_at / last_seen granularity
)

// Service is the identity layer over a Store. It is safe for concurrent use.
type Service struct {
	store   Store
	log     *slog.Logger
	now     func() time.Time
	params  Params
	secure  bool
	csrfKey []byte
	// deviceKey signs device cookies (known clients of a user).
	deviceKey []byte
	limit     *limiter
	sleep     func(context.Context, time.Duration) error // the known device's slow-down (tests replace it)
	hashSem   chan struct{}                              // bounds concurrent argon2 runs (64 MiB each)

	dummyOnce sync.Once
	dummy     string // hash of a random password, verified for unknown users
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithParams sets the argon2id parameters of new hashes (tests use cheap ones).
func WithParams(p Params) Option { return func(s *Service) { s.params = p } }

// WithSecureCookies sets the Secure attribute of session cookies (default
// true; turn off only for plain HTTP on loopback).
func WithSecureCookies(on bool) Option { return func(s *Service) { s.secure = on } }

// WithRateLimit replaces the login rate limit.
func WithRateLimit(r RateLimit) Option { return func(s *Service) { s.limit = newLimiter(r) } }

// WithMaxConcurrentHashes bounds argon2 runs at once (default 4).
func WithMaxConcurrentHashes(n int) Option {
	return func(s *Service) { s.hashSem = make(chan struct{}, max(1, n)) }
}

// New builds a Service. key is the server's secret (see LoadOrCreateKey):
// CSRF tokens are derived from it, so it must survive restarts for open
// sessions to keep working. An empty key gets a random one for this process.
func New(store Store, key []byte, log *slog.Logger, opts ...Option) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	s := &Service{store: store, log: log, now: time.Now, params: DefaultParams, secure: true,
		limit: newLimiter(DefaultRateLimit), hashSem: make(chan struct{}, 4), sleep: sleepCtx}
	for _, o := range opts {
		o(s)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("mamori csrf v1"))
	s.csrfKey = m.Sum(nil)
	m = hmac.New(sha256.New, key)
	m.Write([]byte("mamori device v1"))
	s.deviceKey = m.Sum(nil)
	return s
}

func digest(secret string) []byte {
	d := sha256.Sum256([]byte(secret))
	return d[:]
}

// acquire takes a hashing slot.
func (s *Service) acquire(ctx context.Context) (func(), error) {
	select {
	case s.hashSem <- struct{}{}:
		return func() { <-s.hashSem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Service) hash(ctx context.Context, password string) (string, error) {
	release, err := s.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return HashPassword(password, s.params)
}
