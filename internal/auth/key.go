package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// KeyFile is the server secret in the data directory: 32 random bytes, mode
// 0600 — the same file internal/alerting (acknowledgement links) and
// internal/agentapi (push tokens) use. Each use derives its own sub-key.
const KeyFile = "secret.key"

// LoadOrCreateKey returns the server secret DIR/secret.key, creating it on
// first use (a file shorter than 32 bytes is replaced, as the other users
// of the file do).
func LoadOrCreateKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, KeyFile)
	for range 3 {
		b, err := os.ReadFile(path)
		if err == nil && len(b) >= 32 {
			return b, nil
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("auth: read key: %w", err)
		}
		missing := err != nil
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return nil, err
		}
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		// Write a temporary file, then link it into place: readers never see
		// a half-written key, and of concurrent creators the first one wins.
		f, err := os.CreateTemp(dataDir, ".secret.key-*")
		if err != nil {
			return nil, fmt.Errorf("auth: create key: %w", err)
		}
		tmp := f.Name()
		_, err = f.Write(key)
		if err = errors.Join(err, f.Chmod(0o600), f.Sync(), f.Close()); err != nil {
			os.Remove(tmp)
			return nil, fmt.Errorf("auth: write key: %w", err)
		}
		if missing {
			err = os.Link(tmp, path)
			if err == nil || errors.Is(err, os.ErrExist) {
				os.Remove(tmp)
				continue // read back what is there now
			}
		}
		// Replacing a short key, or no hard links on this file system.
		if err := os.Rename(tmp, path); err != nil {
			os.Remove(tmp)
			return nil, fmt.Errorf("auth: create %s: %w", path, err)
		}
		return key, nil
	}
	return nil, fmt.Errorf("auth: %s keeps changing", path)
}
