package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// SharedKey returns the secret called name that every server of this
// database shares, creating a random one of 32 bytes on first use. Of two
// servers creating it at once, the first insert wins and both read it.
func (s *Store) SharedKey(ctx context.Context, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	var v string
	err := s.write(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO shared_keys(name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
			name, hex.EncodeToString(fresh)); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM shared_keys WHERE name = ?`, name).Scan(&v)
	})
	if err != nil {
		return nil, fmt.Errorf("store: shared key %s: %w", name, err)
	}
	key, err := hex.DecodeString(v)
	if err != nil || len(key) < 32 {
		return nil, fmt.Errorf("store: shared key %s: not a key of 32 bytes", name)
	}
	return key, nil
}

// SigningKey is the shared key that signs console sessions and
// acknowledgement links (DATA_DIR/secret.key on a server alone).
const SigningKey = "secret"

// PutSharedKey sets the shared key called name (migrate-store carries an
// installation's signing key over, so its sessions and links stay valid).
func (s *Store) PutSharedKey(ctx context.Context, name string, key []byte) error {
	if len(key) < 32 {
		return fmt.Errorf("store: shared key %s: %d bytes, want at least 32", name, len(key))
	}
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO shared_keys(name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
			name, hex.EncodeToString(key))
		return err
	})
}
