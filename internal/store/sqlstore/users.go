package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/auth"
)

// Users, API tokens and web sessions (internal/auth). Names are ASCII and
// unique without regard to case (COLLATE NOCASE); token and session secrets
// are stored only as SHA-256 digests.
var _ auth.Store = (*Store)(nil)

const userCols = `u.id, u.name, u.role, u.tenant, u.lang, u.time_zone, u.created_at, u.disabled_at`

type authRow interface{ Scan(...any) error }

func scanUser(r authRow, extra ...any) (auth.User, error) {
	var u auth.User
	var created, disabled int64
	err := r.Scan(append([]any{&u.ID, &u.Name, &u.Role, &u.Tenant, &u.Lang, &u.TimeZone, &created, &disabled}, extra...)...)
	u.CreatedAt, u.Disabled = fromMS(created), disabled != 0
	return u, err
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return auth.ErrNotFound
	}
	return err
}

// AuthCreateUser implements auth.Store.
func (s *Store) AuthCreateUser(ctx context.Context, u auth.StoredUser) (int64, error) {
	var id int64
	err := s.write(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE `+tx.d.FoldCase("name")+` = `+tx.d.FoldCase("?"), u.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return auth.ErrExists
		}
		now := ms(u.CreatedAt)
		if now == 0 {
			now = ms(time.Now())
		}
		return tx.QueryRowContext(ctx, `INSERT INTO users(name, role, tenant, lang, time_zone, password_hash, password_changed_at, created_at, disabled_at)
			VALUES (?,?,?,?,?,?,?,?,?) RETURNING id`, u.Name, u.Role, u.Tenant, u.Lang, u.TimeZone, u.PasswordHash, now, now, boolInt(u.Disabled)*int(now)).Scan(&id)
	})
	if err != nil && !errors.Is(err, auth.ErrExists) {
		if strings.Contains(err.Error(), "UNIQUE") {
			return 0, auth.ErrExists
		}
		return 0, fmt.Errorf("store: create user: %w", err)
	}
	return id, err
}

// AuthUser implements auth.Store.
func (s *Store) AuthUser(ctx context.Context, name string) (auth.StoredUser, error) {
	var su auth.StoredUser
	var err error
	su.User, err = scanUser(s.rdb.QueryRowContext(ctx, `SELECT `+userCols+`, u.password_hash FROM users u WHERE `+s.d.FoldCase("u.name")+` = `+s.d.FoldCase("?"), name), &su.PasswordHash)
	if err != nil {
		return auth.StoredUser{}, notFound(err)
	}
	return su, nil
}

// AuthUsers implements auth.Store.
func (s *Store) AuthUsers(ctx context.Context) ([]auth.User, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+userCols+` FROM users u ORDER BY `+s.d.FoldCase("u.name"))
	if err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	defer rows.Close()
	var out []auth.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// AuthCountUsers implements auth.Store.
func (s *Store) AuthCountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

// updateOne runs one UPDATE/DELETE that must hit a row.
func (s *Store) updateOne(ctx context.Context, q string, args ...any) error {
	return s.write(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return auth.ErrNotFound
		}
		return nil
	})
}

// AuthUpdateUser implements auth.Store.
func (s *Store) AuthUpdateUser(ctx context.Context, u auth.User) error {
	return s.updateOne(ctx, `UPDATE users SET role = ?, tenant = ?, lang = ?, time_zone = ? WHERE id = ?`, u.Role, u.Tenant, u.Lang, u.TimeZone, u.ID)
}

// AuthSetPassword implements auth.Store.
func (s *Store) AuthSetPassword(ctx context.Context, userID int64, hash string, endSessions bool) error {
	return s.write(ctx, func(tx *Tx) error {
		q := `UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?`
		args := []any{hash, ms(time.Now()), userID}
		if !endSessions { // a rehash with new parameters, not a change
			q, args = `UPDATE users SET password_hash = ? WHERE id = ?`, []any{hash, userID}
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return auth.ErrNotFound
		}
		if endSessions {
			_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
		}
		return err
	})
}

// AuthSetDisabled implements auth.Store.
func (s *Store) AuthSetDisabled(ctx context.Context, userID int64, disabled bool, at time.Time) error {
	return s.write(ctx, func(tx *Tx) error {
		v := int64(0)
		if disabled {
			v = max(ms(at), 1)
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET disabled_at = CASE WHEN CAST(? AS BIGINT) = 0 THEN 0 WHEN disabled_at != 0 THEN disabled_at ELSE ? END WHERE id = ?`, v, v, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return auth.ErrNotFound
		}
		if disabled {
			_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
		}
		return err
	})
}

// AuthCreateToken implements auth.Store.
func (s *Store) AuthCreateToken(ctx context.Context, t auth.StoredToken) (int64, error) {
	var id int64
	err := s.write(ctx, func(tx *Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO api_tokens(user_id, digest, label, created_at, expires_at) VALUES (?,?,?,?,?) RETURNING id`,
			t.UserID, t.Digest, t.Label, ms(t.CreatedAt), ms(t.ExpiresAt)).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("store: create token: %w", err)
	}
	return id, nil
}

const tokenCols = `t.id, t.user_id, u.name, t.label, t.created_at, t.last_used_at, t.expires_at, t.revoked_at`

func scanToken(r authRow, extra ...any) (auth.Token, error) {
	var t auth.Token
	var c, l, e, rv int64
	err := r.Scan(append([]any{&t.ID, &t.UserID, &t.User, &t.Label, &c, &l, &e, &rv}, extra...)...)
	t.CreatedAt, t.LastUsedAt, t.ExpiresAt, t.RevokedAt = fromMS(c), fromMS(l), fromMS(e), fromMS(rv)
	return t, err
}

// AuthToken implements auth.Store.
func (s *Store) AuthToken(ctx context.Context, digest []byte) (auth.Token, auth.User, error) {
	var u auth.User
	var created, disabled int64
	t, err := scanToken(s.rdb.QueryRowContext(ctx, `SELECT `+tokenCols+`, u.role, u.tenant, u.lang, u.time_zone, u.created_at, u.disabled_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.digest = ?`, digest),
		&u.Role, &u.Tenant, &u.Lang, &u.TimeZone, &created, &disabled)
	if err != nil {
		return auth.Token{}, auth.User{}, notFound(err)
	}
	u.ID, u.Name, u.CreatedAt, u.Disabled = t.UserID, t.User, fromMS(created), disabled != 0
	return t, u, nil
}

// AuthTokens implements auth.Store.
func (s *Store) AuthTokens(ctx context.Context, userID int64) ([]auth.Token, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+tokenCols+` FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.user_id = ? AND t.revoked_at = 0 ORDER BY t.id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	defer rows.Close()
	var out []auth.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// AuthTouchToken implements auth.Store.
func (s *Store) AuthTouchToken(ctx context.Context, id int64, at time.Time) error {
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND last_used_at < ?`, ms(at), id, ms(at))
		return err
	})
}

// AuthRevokeToken implements auth.Store.
func (s *Store) AuthRevokeToken(ctx context.Context, id, ownerID int64, at time.Time) error {
	return s.updateOne(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at = 0 AND (CAST(? AS BIGINT) = 0 OR user_id = ?)`,
		max(ms(at), 1), id, ownerID, ownerID)
}

// AuthCreateSession implements auth.Store.
func (s *Store) AuthCreateSession(ctx context.Context, ss auth.StoredSession) error {
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions(digest, user_id, created_at, last_seen, ip) VALUES (?,?,?,?,?)`,
			ss.Digest, ss.UserID, ms(ss.CreatedAt), ms(ss.LastSeen), ss.IP)
		return err
	})
}

// AuthSession implements auth.Store.
func (s *Store) AuthSession(ctx context.Context, digest []byte) (auth.StoredSession, auth.User, error) {
	ss := auth.StoredSession{Digest: digest}
	var c, l int64
	u, err := scanUser(s.rdb.QueryRowContext(ctx, `SELECT `+userCols+`, s.created_at, s.last_seen, s.ip
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.digest = ?`, digest), &c, &l, &ss.IP)
	if err != nil {
		return auth.StoredSession{}, auth.User{}, notFound(err)
	}
	ss.UserID, ss.CreatedAt, ss.LastSeen = u.ID, fromMS(c), fromMS(l)
	return ss, u, nil
}

// AuthTouchSession implements auth.Store.
func (s *Store) AuthTouchSession(ctx context.Context, digest []byte, at time.Time) error {
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE digest = ? AND last_seen < ?`, ms(at), digest, ms(at))
		return err
	})
}

// AuthDeleteSession implements auth.Store.
func (s *Store) AuthDeleteSession(ctx context.Context, digest []byte) error {
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE digest = ?`, digest)
		return err
	})
}

// AuthPruneSessions implements auth.Store.
func (s *Store) AuthPruneSessions(ctx context.Context, createdBefore, seenBefore time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE created_at < ? OR last_seen < ?`, ms(createdBefore), ms(seenBefore))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}
