package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/auth"
)

func dig(s string) []byte { d := sha256.Sum256([]byte(s)); return d[:] }

func testAuthStore(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	id, err := s.AuthCreateUser(ctx, auth.StoredUser{User: auth.User{Name: "Alice", Role: "customer", Tenant: "acme", Lang: "ja", TimeZone: "Asia/Tokyo", CreatedAt: t0}, PasswordHash: "$argon2id$x"})
	if err != nil || id == 0 {
		t.Fatal(id, err)
	}
	if _, err := s.AuthCreateUser(ctx, auth.StoredUser{User: auth.User{Name: "alice", Role: "admin", CreatedAt: t0}}); !errors.Is(err, auth.ErrExists) {
		t.Fatalf("duplicate name in another case: %v", err)
	}
	bob, _ := s.AuthCreateUser(ctx, auth.StoredUser{User: auth.User{Name: "bob", Role: "operator", CreatedAt: t0}})
	su, err := s.AuthUser(ctx, "ALICE")
	if err != nil || su.ID != id || su.Name != "Alice" || su.Role != "customer" || su.Tenant != "acme" || su.Lang != "ja" ||
		su.TimeZone != "Asia/Tokyo" || !su.CreatedAt.Equal(t0) || su.Disabled || su.PasswordHash != "$argon2id$x" {
		t.Fatalf("AuthUser = %+v %v", su, err)
	}
	if _, err := s.AuthUser(ctx, "carol"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	if n, _ := s.AuthCountUsers(ctx); n != 2 {
		t.Fatalf("count %d", n)
	}
	su.User.Role, su.User.Tenant, su.User.Lang = "viewer", "globex", "en"
	if err := s.AuthUpdateUser(ctx, su.User); err != nil {
		t.Fatal(err)
	}
	if err := s.AuthUpdateUser(ctx, auth.User{ID: 999}); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}

	// tokens
	exp := t0.Add(24 * time.Hour)
	tid, err := s.AuthCreateToken(ctx, auth.StoredToken{Token: auth.Token{UserID: id, Label: "ci", CreatedAt: t0, ExpiresAt: exp}, Digest: dig("tok1")})
	if err != nil {
		t.Fatal(err)
	}
	tid2, _ := s.AuthCreateToken(ctx, auth.StoredToken{Token: auth.Token{UserID: id, Label: "grafana", CreatedAt: t0}, Digest: dig("tok2")})
	if _, err := s.AuthCreateToken(ctx, auth.StoredToken{Token: auth.Token{UserID: bob, CreatedAt: t0}, Digest: dig("tok1")}); err == nil {
		t.Fatal("duplicate digest accepted")
	}
	tok, u, err := s.AuthToken(ctx, dig("tok1"))
	if err != nil || tok.ID != tid || tok.User != "Alice" || tok.Label != "ci" || !tok.ExpiresAt.Equal(exp) || !tok.LastUsedAt.IsZero() ||
		u.ID != id || u.Role != "viewer" || u.Tenant != "globex" || u.Lang != "en" || u.Disabled {
		t.Fatalf("AuthToken = %+v %+v %v", tok, u, err)
	}
	if _, _, err := s.AuthToken(ctx, dig("nope")); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
	if err := s.AuthTouchToken(ctx, tid, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	s.AuthTouchToken(ctx, tid, t0.Add(time.Minute)) // never goes back
	if tok, _, _ := s.AuthToken(ctx, dig("tok1")); !tok.LastUsedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("last used %v", tok.LastUsedAt)
	}
	if ts, _ := s.AuthTokens(ctx, id); len(ts) != 2 || ts[0].ID != tid2 || ts[1].ID != tid {
		t.Fatalf("tokens newest first: %+v", ts)
	}
	if err := s.AuthRevokeToken(ctx, tid, bob, t0); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("revoked by another owner: %v", err)
	}
	if err := s.AuthRevokeToken(ctx, tid, id, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.AuthRevokeToken(ctx, tid, 0, t0); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("revoked twice: %v", err)
	}
	if tok, _, _ := s.AuthToken(ctx, dig("tok1")); tok.RevokedAt.IsZero() {
		t.Fatal("revocation not recorded")
	}
	if ts, _ := s.AuthTokens(ctx, id); len(ts) != 1 {
		t.Fatalf("revoked token listed: %+v", ts)
	}

	// sessions
	for i, sd := range []string{"s1", "s2", "s3"} {
		uid := id
		if i == 2 {
			uid = bob
		}
		if err := s.AuthCreateSession(ctx, auth.StoredSession{Digest: dig(sd), UserID: uid, CreatedAt: t0, LastSeen: t0, IP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
	}
	ss, u, err := s.AuthSession(ctx, dig("s1"))
	if err != nil || !bytes.Equal(ss.Digest, dig("s1")) || ss.UserID != id || !ss.CreatedAt.Equal(t0) || ss.IP != "192.0.2.1" || u.Name != "Alice" {
		t.Fatalf("AuthSession = %+v %+v %v", ss, u, err)
	}
	s.AuthTouchSession(ctx, dig("s1"), t0.Add(30*time.Minute))
	if ss, _, _ := s.AuthSession(ctx, dig("s1")); !ss.LastSeen.Equal(t0.Add(30 * time.Minute)) {
		t.Fatalf("last seen %v", ss.LastSeen)
	}
	if err := s.AuthDeleteSession(ctx, dig("s2")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AuthSession(ctx, dig("s2")); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("deleted session: %v", err)
	}
	// a password change ends the user's sessions, a rehash does not
	if err := s.AuthSetPassword(ctx, id, "$argon2id$y", false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AuthSession(ctx, dig("s1")); err != nil {
		t.Fatal("rehash ended a session")
	}
	if err := s.AuthSetPassword(ctx, id, "$argon2id$z", true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AuthSession(ctx, dig("s1")); !errors.Is(err, auth.ErrNotFound) {
		t.Fatal("password change kept a session")
	}
	if su, _ := s.AuthUser(ctx, "alice"); su.PasswordHash != "$argon2id$z" {
		t.Fatalf("hash %q", su.PasswordHash)
	}
	// disabling ends sessions; the flag shows through tokens
	if err := s.AuthSetDisabled(ctx, bob, true, t0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AuthSession(ctx, dig("s3")); !errors.Is(err, auth.ErrNotFound) {
		t.Fatal("disabled user kept a session")
	}
	if us, _ := s.AuthUsers(ctx); len(us) != 2 || us[0].Name != "Alice" || us[0].Disabled || !us[1].Disabled {
		t.Fatalf("users %+v", us)
	}
	s.AuthSetDisabled(ctx, bob, false, t0)
	if su, _ := s.AuthUser(ctx, "bob"); su.Disabled {
		t.Fatal("not enabled")
	}
	if err := s.AuthSetDisabled(ctx, 999, true, t0); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("disable unknown: %v", err)
	}
	// pruning
	s.AuthCreateSession(ctx, auth.StoredSession{Digest: dig("old"), UserID: id, CreatedAt: t0, LastSeen: t0.Add(11 * time.Hour)})
	s.AuthCreateSession(ctx, auth.StoredSession{Digest: dig("idle"), UserID: id, CreatedAt: t0.Add(10 * time.Hour), LastSeen: t0.Add(10 * time.Hour)})
	s.AuthCreateSession(ctx, auth.StoredSession{Digest: dig("live"), UserID: id, CreatedAt: t0.Add(10 * time.Hour), LastSeen: t0.Add(12 * time.Hour)})
	now := t0.Add(12*time.Hour + time.Minute)
	if n, err := s.AuthPruneSessions(ctx, now.Add(-12*time.Hour), now.Add(-time.Hour)); err != nil || n != 2 {
		t.Fatalf("pruned %d %v", n, err)
	}
	if _, _, err := s.AuthSession(ctx, dig("live")); err != nil {
		t.Fatal("live session pruned")
	}
	s.Close()

	// survives reopening (schema statements are idempotent)
	s = open(t)
	defer s.Close()
	if n, _ := s.AuthCountUsers(ctx); n != 2 {
		t.Fatalf("after reopen: %d users", n)
	}
}

// TestAuthServiceOnSQLite runs the service end to end on the real store.
func testAuthService(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	defer s.Close()
	svc := auth.New(s, []byte("k"), nil, auth.WithParams(auth.Params{Time: 1, MemoryKiB: 64, Threads: 1}))
	created, name, pw, err := svc.FirstStart(ctx)
	if err != nil || !created {
		t.Fatal(created, err)
	}
	if _, err := svc.CreateUser(ctx, auth.User{Name: "acme-ops", Role: auth.RoleCustomer, Tenant: "acme"}, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	plain, _, err := svc.CreateToken(ctx, "acme-ops", "ci", 0)
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := svc.LookupToken(ctx, plain); !ok || u.Name != "acme-ops" || u.Role != auth.RoleCustomer || u.Tenant != "acme" {
		t.Fatalf("LookupToken = %+v %v", u, ok)
	}
	sess, err := svc.Login(ctx, name, pw, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := svc.SessionUser(ctx, sess.ID); !ok || u.Role != auth.RoleAdmin {
		t.Fatalf("SessionUser = %+v %v", u, ok)
	}
	if err := svc.DisableUser(ctx, "acme-ops"); err != nil {
		t.Fatal(err)
	}
	if _, ok := svc.LookupToken(ctx, plain); ok {
		t.Fatal("disabled user's token works")
	}
	if err := svc.Logout(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := svc.SessionUser(ctx, sess.ID); ok {
		t.Fatal("session alive after logout")
	}
}
