package docs

import (
	"bytes"
	"flag"
	"os"
	"testing"

	_ "github.com/mamori/mamori/internal/check/all"
	_ "github.com/mamori/mamori/internal/notify/all"
)

var update = flag.Bool("update", false, "rewrite docs/config.md")

// TestReferenceUpToDate fails when docs/config.md no longer matches the code.
func TestReferenceUpToDate(t *testing.T) {
	var buf bytes.Buffer
	Reference(&buf)
	const path = "../../docs/config.md"
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, buf.Bytes()) {
		t.Fatalf("docs/config.md is stale: run go test ./internal/docs -update")
	}
}
