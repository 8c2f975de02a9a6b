package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// TokenPrefix starts every API token, so that scanners can spot leaked ones.
const TokenPrefix = "mamori_"

// tokenLen is the length of a token: prefix + 32 bytes in unpadded base64url.
var tokenLen = len(TokenPrefix) + base64.RawURLEncoding.EncodedLen(32)

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather)
	return base64.RawURLEncoding.EncodeToString(b)
}

// LooksLikeToken reports whether s has the shape of a mamori API token.
func LooksLikeToken(s string) bool {
	if len(s) != tokenLen || !strings.HasPrefix(s, TokenPrefix) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s[len(TokenPrefix):])
	return err == nil
}

// CreateToken creates an API token for a user and returns it in the clear —
// the only time it is available. ttl 0 = no expiry.
func (s *Service) CreateToken(ctx context.Context, userName, label string, ttl time.Duration) (string, Token, error) {
	if ttl < 0 {
		return "", Token{}, errors.New("the expiry must be in the future")
	}
	if len(label) > 100 || strings.ContainsFunc(label, unicode.IsControl) {
		return "", Token{}, errors.New("the label must be at most 100 characters, without control characters")
	}
	su, err := s.store.AuthUser(ctx, userName)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return "", Token{}, fmt.Errorf("no user %q: %w", userName, ErrNotFound)
		}
		return "", Token{}, err
	}
	if su.Disabled {
		return "", Token{}, fmt.Errorf("user %q: %w", su.Name, ErrDisabled)
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	t := Token{UserID: su.ID, User: su.Name, Label: label, CreatedAt: now}
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl)
	}
	plain := TokenPrefix + randomSecret()
	if t.ID, err = s.store.AuthCreateToken(ctx, StoredToken{Token: t, Digest: digest(plain)}); err != nil {
		return "", Token{}, err
	}
	s.log.Info("API token created", "user", su.Name, "token_id", t.ID, "label", label)
	return plain, t, nil
}

// Tokens lists a user's tokens that are not revoked (expired ones included).
func (s *Service) Tokens(ctx context.Context, userName string) ([]Token, error) {
	u, err := s.UserByName(ctx, userName)
	if err != nil {
		return nil, err
	}
	return s.store.AuthTokens(ctx, u.ID)
}

// RevokeToken revokes token id. With owner != "" the token must be that
// user's (the console: users revoke their own); "" = any (admin, CLI).
func (s *Service) RevokeToken(ctx context.Context, owner string, id int64) error {
	var ownerID int64
	if owner != "" {
		u, err := s.UserByName(ctx, owner)
		if err != nil {
			return err
		}
		ownerID = u.ID
	}
	if err := s.store.AuthRevokeToken(ctx, id, ownerID, s.now()); err != nil {
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("no token %d: %w", id, ErrNotFound)
		}
		return err
	}
	s.log.Info("API token revoked", "token_id", id)
	return nil
}

// LookupToken authenticates a bearer token: the user it stands for, with
// the role and tenant they have now. Unknown, revoked and expired tokens and
// those of disabled users fail.
func (s *Service) LookupToken(ctx context.Context, plain string) (User, bool) {
	if !LooksLikeToken(plain) {
		return User{}, false
	}
	t, u, err := s.store.AuthToken(ctx, digest(plain))
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			s.log.Error("token lookup", "err", err)
		}
		return User{}, false
	}
	now := s.now()
	switch {
	case !t.RevokedAt.IsZero(), !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt), u.Disabled:
		return User{}, false
	case !s.sane(u):
		return User{}, false
	}
	if now.Sub(t.LastUsedAt) >= touchEvery {
		if err := s.store.AuthTouchToken(ctx, t.ID, now); err != nil {
			s.log.Warn("token last_used_at", "token_id", t.ID, "err", err)
		}
	}
	return u, true
}

// sane refuses users whose role and tenant do not fit (a row edited by
// hand): a customer without a tenant would otherwise see every tenant.
func (s *Service) sane(u User) bool {
	if err := ValidateRole(u.Role, u.Tenant); err != nil {
		s.log.Error("user refused: invalid role or tenant in the store", "user", u.Name, "err", err)
		return false
	}
	return true
}
