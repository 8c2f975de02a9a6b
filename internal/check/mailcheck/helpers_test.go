package mailcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tagged lists the round-trip messages in a Maildir (new/ and cur/).
func tagged(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			continue
		}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, sub, e.Name()))
			if err == nil && strings.Contains(string(b), header+": mamori-") {
				out = append(out, e.Name())
			}
		}
	}
	return out
}
