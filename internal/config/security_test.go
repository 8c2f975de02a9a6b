package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// refused parses src and returns the error text; the test fails if the
// configuration is accepted or the error does not name want (each of them).
func refused(t *testing.T, src string, want ...string) {
	t.Helper()
	_, err := Parse("sec.yaml", []byte(src))
	if err == nil {
		t.Fatalf("accepted:\n%s", src)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not mention %q:\n%v", w, err)
		}
	}
}

const okToken = "0123456789abcdef0123"

// Config tokens follow the rules of `mamori token create`: customer and
// viewer belong to a tenant, admin and operator see every tenant.
func TestAPITokenTenantRules(t *testing.T) {
	refused(t, "api_tokens:\n  - {name: c, token: "+okToken+", role: customer}\n", "api_tokens[0].tenant", "needs a tenant")
	refused(t, "api_tokens:\n  - {name: o, token: "+okToken+", role: operator, tenant: acme}\n", "api_tokens[0].tenant", "takes no tenant")
	refused(t, "api_tokens:\n  - {name: a, token: "+okToken+", role: admin, tenant: acme}\n", "api_tokens[0].tenant")
	refused(t, "api_tokens:\n  - {name: v, token: "+okToken+"}\n", "api_tokens[0].tenant", "viewer needs a tenant")
	refused(t, "api_tokens:\n  - {name: c, token: "+okToken+", role: customer, tenant: \" acme\"}\n", "api_tokens[0].tenant")
	cfg, err := Parse("ok.yaml", []byte("api_tokens:\n  - {name: c, token: "+okToken+", role: customer, tenant: acme}\n  - {name: o, token: "+okToken+"x, role: operator}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.APITokens) != 2 || cfg.APITokens[0].Tenant != "acme" || cfg.APITokens[1].Tenant != "" {
		t.Fatalf("tokens: %+v", cfg.APITokens)
	}
}

// Absurd values are refused, each with its field.
func TestValidatorRefusesAbsurdValues(t *testing.T) {
	refused(t, "defaults: {attempts: 9223372036854775807}\n", "defaults.attempts")
	refused(t, "checks:\n  - {name: a, type: probe, host: x, attempts: 9223372036854775807}\n", "checks[0].attempts")
	refused(t, "checks:\n  - {name: a, type: probe, host: x, attempts: 1001}\n", "checks[0].attempts")
	refused(t, "listen: notahost:99999\n", "listen")
	refused(t, "listen: 127.0.0.1:99999\n", "listen", "port")
	refused(t, "listen: notahost:8484\n", "listen")
	refused(t, "listen: 127.0.0.1\n", "listen")
	refused(t, "scheduler: {max_concurrent: -1}\n", "scheduler.max_concurrent")
	refused(t, "scheduler: {max_concurrent: 100000000}\n", "scheduler.max_concurrent")
	refused(t, "api_tokens:\n  - {name: short, token: x, role: operator}\n", "api_tokens[0].token", "at least 16")
	refused(t, "hosts:\n  - {name: h, agent: true, agent_token: x}\n", "hosts[0].agent_token", "at least 16")
	refused(t, "listen: 127.0.0.1:8484\n---\nlisten: 0.0.0.0:80\n", "second YAML document")
	refused(t, "checks:\n  - {name: a, type: probe, host: x, tags: prod}\n", "checks[0].tags", "must be a list")
	refused(t, "checks:\n  - {name: a, type: probe, host: x, notify: ops}\n", "checks[0].notify", "must be a list")
	for _, ok := range []string{"listen: 127.0.0.1:8484\n", "listen: \"[::1]:8484\"\n", "listen: localhost:8484\n", "listen: \":8484\"\n",
		"scheduler: {max_concurrent: 50}\n", "defaults: {attempts: 10}\n", "---\nlisten: 127.0.0.1:1\n"} {
		if _, err := Parse("ok.yaml", []byte(ok)); err != nil {
			t.Errorf("refused %q: %v", ok, err)
		}
	}
}

func TestTLSSection(t *testing.T) {
	refused(t, "tls: {cert_file: /nonexistent/c.pem}\n", "tls", "go together")
	refused(t, "tls: {cert_file: /nonexistent/c.pem, key_file: /nonexistent/k.pem}\n", "tls.cert_file")
	refused(t, "tls: {client_ca_file: /nonexistent/ca.pem}\n", "tls.client_ca_file", "needs cert_file")
	refused(t, "tls: {acme_domains: [localhost]}\n", "tls.acme_domains")
	refused(t, "http: {max_connections: -5}\n", "http.max_connections")
	cfg, err := Parse("/etc/mamori/ok.yaml", []byte("data_dir: /var/lib/mamori\ntls: {acme_domains: [mamori.example.org]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLS.ACMECacheDir != "/var/lib/mamori/acme" || !cfg.TLS.Enabled() {
		t.Fatalf("%+v", cfg.TLS)
	}
}

// include: is bounded: no device files, no tree walks, no huge files, and
// an error about an included file does not print its content.
func TestIncludeBounded(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	secret := write("secret.yaml", "root: \"$6$hash\": [\n")
	big := write("big.yaml", "# "+strings.Repeat("x", MaxIncludeBytes)+"\n")
	done := make(chan error, 1)
	go func() {
		_, err := Parse(filepath.Join(dir, "main.yaml"), []byte("include: [/dev/zero]\n"))
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("include of /dev/zero accepted")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("include of /dev/zero did not end")
	}
	refused(t, "include: [\"/*/*/*.yaml\"]\n", "include[0]", "file name only")
	refused(t, "include: [/etc/passwd]\n", "include[0]", ".yaml")
	refused(t, "include: ["+big+"]\n", "include[0]", "larger than")
	_, err := Parse(filepath.Join(dir, "main.yaml"), []byte("include: ["+secret+"]\n"))
	if err == nil || strings.Contains(err.Error(), "$6$hash") {
		t.Errorf("an included file's content is printed: %v", err)
	}
}
