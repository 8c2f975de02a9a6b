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
