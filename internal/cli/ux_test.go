package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/fieldset"
)

// uxConfig writes a config with one host in tenant acme and returns its path
// and data directory.
func uxConfig(t *testing.T, listen string) (cfgPath, dataDir string) {
	t.Helper()
	cfgPath, dataDir = userTestConfig(t)
	body := "listen: " + listen + "\ndata_dir: " + dataDir + "\nhosts:\n  - name: web1\n    address: 127.0.0.1\n    tenant: acme\n    checks:\n      - name: port\n        type: tcp\n        port: 1\n"
	if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath, dataDir
}

// Defect 1: "mamori validate FILE" validates FILE, not the embedded example.
func TestValidatePositionalFile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("listen: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runCmd(cmdValidate, "", bad); r.code != 1 || !strings.Contains(r.stderr, "bad.yaml") {
		t.Fatalf("validate BROKEN: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	good, _ := uxConfig(t, "127.0.0.1:0")
	if r := runCmd(cmdValidate, "", good); r.code != 0 || !strings.Contains(r.stdout, good+": OK — 1 check, 1 host, 0 channels") {
		t.Fatalf("validate GOOD: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	if r := runCmd(cmdValidate, "", good, "--config", good); r.code != 2 {
		t.Fatalf("validate FILE --config FILE: exit %d, want 2 (two files)\n%s", r.code, r.stderr)
	}
}

// Defect 15: flags after positional arguments, unknown hosts and tenants
// refused, token list for everyone, did-you-mean, recover's token, --help.
func TestMaintenanceFlagsAfterID(t *testing.T) {
	cfg, _ := uxConfig(t, "127.0.0.1:0")
	if r := runCmd(cmdMaintenance, "", "add", "--config", cfg, "--host", "web1", "--duration", "1h"); r.code != 0 {
		t.Fatalf("add: %d %s", r.code, r.stderr)
	}
	if r := runCmd(cmdMaintenance, "", "delete", "1", "--config", cfg); r.code != 0 || !strings.Contains(r.stdout, "window 1 deleted") {
		t.Fatalf("delete 1 --config: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestMaintenanceUnknownHostRefused(t *testing.T) {
	cfg, _ := uxConfig(t, "127.0.0.1:0")
	for _, args := range [][]string{
		{"add", "--config", cfg, "--host", "nosuchhost", "--duration", "1h"},
		{"add", "--config", cfg, "--check", "web1/nosuch", "--duration", "1h"},
	} {
		r := runCmd(cmdMaintenance, "", args...)
		if r.code == 0 || !strings.Contains(r.stderr, "nosuch") {
			t.Errorf("%v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
	// Patterns that match something are fine.
	if r := runCmd(cmdMaintenance, "", "add", "--config", cfg, "--host", "web*", "--duration", "1h"); r.code != 0 {
		t.Errorf("pattern web*: exit %d %s", r.code, r.stderr)
	}
}

func TestUserAddUnknownTenantRefused(t *testing.T) {
	cfg, _ := uxConfig(t, "127.0.0.1:0")
	r := runCmd(cmdUser, "", "add", "carol", "--role", "customer", "--tenant", "nosuch", "--config", cfg)
	if r.code == 0 || !strings.Contains(r.stderr, `"nosuch"`) || !strings.Contains(r.stderr, "acme") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runCmd(cmdUser, "", "add", "carol", "--role", "customer", "--tenant", "acme", "--config", cfg); r.code != 0 {
		t.Fatalf("known tenant: exit %d %s", r.code, r.stderr)
	}
}

func TestTokenListAll(t *testing.T) {
	cfg, _ := uxConfig(t, "127.0.0.1:0")
	for _, u := range []string{"alice", "bob"} {
		if r := runCmd(cmdUser, "", "add", u, "--role", "operator", "--config", cfg); r.code != 0 {
			t.Fatal(r.stderr)
		}
		if r := runCmd(cmdToken, "", "create", u, "--label", "lab-"+u, "--config", cfg); r.code != 0 {
			t.Fatal(r.stderr)
		}
	}
	r := runCmd(cmdToken, "", "list", "--config", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, "lab-alice") || !strings.Contains(r.stdout, "lab-bob") || !strings.Contains(r.stdout, "USER") {
		t.Fatalf("token list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCmd(cmdToken, "", "list", "bob", "--config", cfg)
	if r.code != 0 || strings.Contains(r.stdout, "lab-alice") || !strings.Contains(r.stdout, "lab-bob") {
		t.Fatalf("token list bob: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestDidYouMean(t *testing.T) {
	for _, tc := range []struct{ typo, want string }{
		{"htp", "http"}, {"htpp", "http"}, {"pign", "ping"}, {"tpc", "tcp"}, {"dsn", "dns"},
	} {
		if got := fieldset.SuggestKey(tc.typo, check.Names()); !strings.Contains(got, `"`+tc.want+`"`) {
			t.Errorf("%s: %q, want %s", tc.typo, got, tc.want)
		}
	}
	if got := fieldset.SuggestKey("mainteance", commandNames()); !strings.Contains(got, `"maintenance"`) {
		t.Errorf("mainteance: %q", got)
	}
}

func TestRecoverTokenFromDataDir(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"dry_run":true,"action":"restart","status":"dry_run"}`))
	}))
	defer srv.Close()
	cfg, dataDir := uxConfig(t, strings.TrimPrefix(srv.URL, "http://"))
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "admin.token"), []byte("tok-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MAMORI_ADMIN_TOKEN", "")
	t.Setenv("MAMORI_SERVER", "")
	r := runCmd(cmdRecover, "", "web1/port", "--dry-run", "--config", cfg)
	if got != "Bearer tok-from-file" {
		t.Fatalf("Authorization %q; exit %d\n%s%s", got, r.code, r.stdout, r.stderr)
	}
}
