package logscheck

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// load reads a saved position; nil (no error) when there is none. A damaged
// file must not stop the check: it starts over.
func load(path string) (*Position, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p Position
	if json.Unmarshal(b, &p) != nil || p.Until.IsZero() {
		return nil, nil
	}
	if p.Seen == nil {
		p.Seen = map[string]int64{}
	}
	return &p, nil
}

// save writes the position atomically (temp file and rename).
func save(path string, p *Position) error {
	if path == "" {
		return nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".aws_logs-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
