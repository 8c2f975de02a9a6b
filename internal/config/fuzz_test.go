package config

import (
	"os"
	"testing"
)

// FuzzParse: any text is a configuration or a list of errors, never a
// panic or a hang.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/valid.yaml", "testdata/broken.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("listen: 127.0.0.1:8484\n---\nx: 1\n"))
	f.Add([]byte("api_tokens:\n  - {name: a, token: 0123456789abcdef, role: customer}\n"))
	f.Add([]byte("checks:\n  - {name: a, type: probe, host: x, attempts: 9223372036854775807, tags: x}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if err == nil && cfg == nil {
			t.Fatal("no config and no error")
		}
	})
}
