package auth

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// memStore is an in-memory Store for the unit tests; the SQLite one is
// tested in internal/store/sqlite.
type memStore struct {
	mu       sync.Mutex
	users    []*StoredUser
	tokens   []*StoredToken
	sessions []*StoredSession
	attempts []LoginAttempt
	touches  int // token and session touches, to check the once-a-minute rule
}

func (m *memStore) byID(id int64) *StoredUser {
	for _, u := range m.users {
		if u.ID == id {
			return u
		}
	}
	return nil
}

func (m *memStore) AuthCreateUser(_ context.Context, u StoredUser) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.users {
		if strings.EqualFold(o.Name, u.Name) {
			return 0, ErrExists
		}
	}
	u.ID = int64(len(m.users) + 1)
	m.users = append(m.users, &u)
	return u.ID, nil
}

func (m *memStore) AuthUser(_ context.Context, name string) (StoredUser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.users {
		if strings.EqualFold(u.Name, name) {
			return *u, nil
		}
	}
	return StoredUser{}, ErrNotFound
}

func (m *memStore) AuthUsers(context.Context) ([]User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []User
	for _, u := range m.users {
		out = append(out, u.User)
	}
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (m *memStore) AuthCountUsers(context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.users), nil
}

func (m *memStore) AuthUpdateUser(_ context.Context, u User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	su := m.byID(u.ID)
	if su == nil {
		return ErrNotFound
	}
	su.Role, su.Tenant, su.Lang, su.TimeZone = u.Role, u.Tenant, u.Lang, u.TimeZone
	return nil
}

func (m *memStore) endSessions(userID int64) {
	m.sessions = slices.DeleteFunc(m.sessions, func(s *StoredSession) bool { return s.UserID == userID })
}

func (m *memStore) AuthSetPassword(_ context.Context, userID int64, hash string, end bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	su := m.byID(userID)
	if su == nil {
		return ErrNotFound
	}
	su.PasswordHash = hash
	if end {
		m.endSessions(userID)
	}
	return nil
}

func (m *memStore) AuthSetDisabled(_ context.Context, userID int64, disabled bool, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	su := m.byID(userID)
	if su == nil {
		return ErrNotFound
	}
	su.Disabled = disabled
	if disabled {
		m.endSessions(userID)
	}
	return nil
}

func (m *memStore) AuthCreateToken(_ context.Context, t StoredToken) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t.ID = int64(len(m.tokens) + 1)
	m.tokens = append(m.tokens, &t)
	return t.ID, nil
}

func (m *memStore) AuthToken(_ context.Context, d []byte) (Token, User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.tokens {
		if bytes.Equal(t.Digest, d) {
			return t.Token, m.byID(t.UserID).User, nil
		}
	}
	return Token{}, User{}, ErrNotFound
}

func (m *memStore) AuthTokens(_ context.Context, userID int64) ([]Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Token
	for _, t := range slices.Backward(m.tokens) {
		if t.UserID == userID && t.RevokedAt.IsZero() {
			out = append(out, t.Token)
		}
	}
	return out, nil
}

func (m *memStore) AuthTouchToken(_ context.Context, id int64, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.touches++
	m.tokens[id-1].LastUsedAt = at
	return nil
}

func (m *memStore) AuthRevokeToken(_ context.Context, id, owner int64, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id < 1 || int(id) > len(m.tokens) {
		return ErrNotFound
	}
	t := m.tokens[id-1]
	if !t.RevokedAt.IsZero() || (owner != 0 && t.UserID != owner) {
		return ErrNotFound
	}
	t.RevokedAt = at
	return nil
}

func (m *memStore) AuthCreateSession(_ context.Context, s StoredSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions = append(m.sessions, &s)
	return nil
}

func (m *memStore) AuthSession(_ context.Context, d []byte) (StoredSession, User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.sessions {
		if bytes.Equal(s.Digest, d) {
			return *s, m.byID(s.UserID).User, nil
		}
	}
	return StoredSession{}, User{}, ErrNotFound
}

func (m *memStore) AuthTouchSession(_ context.Context, d []byte, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.touches++
	for _, s := range m.sessions {
		if bytes.Equal(s.Digest, d) {
			s.LastSeen = at
		}
	}
	return nil
}

func (m *memStore) AuthDeleteSession(_ context.Context, d []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions = slices.DeleteFunc(m.sessions, func(s *StoredSession) bool { return bytes.Equal(s.Digest, d) })
	return nil
}

func (m *memStore) AuthPruneSessions(_ context.Context, createdBefore, seenBefore time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.sessions)
	m.sessions = slices.DeleteFunc(m.sessions, func(s *StoredSession) bool {
		return s.CreatedAt.Before(createdBefore) || s.LastSeen.Before(seenBefore)
	})
	return int64(n - len(m.sessions)), nil
}

func (m *memStore) AuthRecordLogin(_ context.Context, a LoginAttempt) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a.ID = int64(len(m.attempts) + 1)
	m.attempts = append(m.attempts, a)
	return nil
}

func (m *memStore) AuthLoginAttempts(_ context.Context, user string, limit int) ([]LoginAttempt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []LoginAttempt
	for i := len(m.attempts) - 1; i >= 0 && len(out) < limit; i-- {
		if user == "" || strings.EqualFold(m.attempts[i].User, user) {
			out = append(out, m.attempts[i])
		}
	}
	return out, nil
}

func (m *memStore) AuthPruneLoginAttempts(_ context.Context, before time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.attempts)
	m.attempts = slices.DeleteFunc(m.attempts, func(a LoginAttempt) bool { return a.Time.Before(before) })
	return int64(n - len(m.attempts)), nil
}
