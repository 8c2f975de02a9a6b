package httpcheck

import (
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

// The nginx of scripts/itest-daemons.sh: the same locations on every port.
func itestCA() string {
	return checktest.Env("MAMORI_ITEST_CA", "/tmp/mamori-itest/certs/ca.pem")
}

func soonPort() string {
	// The script exports MAMORI_ITEST_HTTPS_SOON_PORT; EXPIRING is the older name.
	return checktest.Env("MAMORI_ITEST_HTTPS_EXPIRING_PORT", "8444")
}

type itestCase struct {
	name   string
	mod    func(*Spec)
	status check.Status
	output string
	// The equivalent check_http arguments (after -I 127.0.0.1 -p PORT), or
	// nil when check_http has no equivalent.
	plugin []string
}

func TestIntegrationHTTP(t *testing.T) {
	addr := checktest.Daemon(t, "nginx", "MAMORI_ITEST_HTTP_PORT", "8080")
	base := "http://" + addr
	cases := []itestCase{
		{"root", func(s *Spec) { s.URL = base + "/"; s.ExpectBody = "ok" }, check.OK, "200 in", []string{"-u", "/", "-s", "ok"}},
		{"ok body", func(s *Spec) { s.URL = base + "/ok"; s.ExpectBody = "ok mamori" }, check.OK, "200 in", []string{"-u", "/ok", "-s", "ok mamori"}},
		{"body missing", func(s *Spec) { s.URL = base + "/ok"; s.ExpectBody = "nope" }, check.Critical, "'nope' not found", []string{"-u", "/ok", "-s", "nope"}},
		{"regex", func(s *Spec) { s.URL = base + "/json"; s.ExpectRegex = `"status":"up"` }, check.OK, "200 in", []string{"-u", "/json", "-r", `"status":"up"`}},
		{"regex mismatch", func(s *Spec) { s.URL = base + "/json"; s.ExpectRegex = `"status":"down"` }, check.Critical, "does not match", []string{"-u", "/json", "-r", `"status":"down"`}},
		{"404", func(s *Spec) { s.URL = base + "/notfound" }, check.Warning, "404 in", []string{"-u", "/notfound"}},
		{"503", func(s *Spec) { s.URL = base + "/fail" }, check.Critical, "503 in", []string{"-u", "/fail"}},
		{"expected 503", func(s *Spec) { s.URL = base + "/fail"; s.ExpectStatus = []string{"503"} }, check.OK, "503 in", []string{"-u", "/fail", "-e", "503"}},
		{"redirect not followed", func(s *Spec) { s.URL = base + "/redirect" }, check.OK, "302 in", []string{"-u", "/redirect"}},
		{"redirect followed", func(s *Spec) { s.URL = base + "/redirect"; s.FollowRedirects = true; s.ExpectBody = "ok mamori" }, check.OK, "200 in", []string{"-u", "/redirect", "-f", "follow", "-s", "ok mamori"}},
		{"auth right", func(s *Spec) {
			s.URL = base + "/auth"
			s.BasicAuthUser, s.BasicAuthPassword = "mtest", check.NewSecret("mtestpass")
			s.ExpectBody = "auth ok"
		}, check.OK, "200 in", []string{"-u", "/auth", "-a", "mtest:mtestpass", "-s", "auth ok"}},
		{"auth wrong", func(s *Spec) {
			s.URL = base + "/auth"
			s.BasicAuthUser, s.BasicAuthPassword = "mtest", check.NewSecret("wrong")
		}, check.Warning, "401 in", []string{"-u", "/auth", "-a", "mtest:wrong"}},
		{"keepalive", func(s *Spec) { s.URL = base + "/ok"; s.Keepalive = true }, check.OK, "200 in", nil},
	}
	runIntegration(t, cases, false)
}

func TestIntegrationHTTPS(t *testing.T) {
	valid := checktest.Daemon(t, "nginx (valid cert)", "MAMORI_ITEST_HTTPS_PORT", "8443")
	soon := checktest.Daemon(t, "nginx (cert expiring in 5 days)", "MAMORI_ITEST_HTTPS_SOON_PORT", soonPort())
	expired := checktest.Daemon(t, "nginx (expired cert)", "MAMORI_ITEST_HTTPS_EXPIRED_PORT", "8445")
	ca := itestCA()
	withCA := func(u string, more func(*Spec)) func(*Spec) {
		return func(s *Spec) {
			s.URL = u
			s.CAFile = ca
			if more != nil {
				more(s)
			}
		}
	}
	cases := []itestCase{
		{"valid", withCA("https://"+valid+"/ok", func(s *Spec) { s.ExpectBody = "ok mamori" }), check.OK, "200 in", []string{"--ssl", "-u", "/ok", "-s", "ok mamori"}},
		{"valid, by name", withCA("https://localhost:"+port(valid)+"/", nil), check.OK, "200 in", nil},
		{"valid, cert days", withCA("https://"+valid+"/", nil), check.OK, "200 in", []string{"--ssl", "-C", "30,7"}},
		{"expires in 5 days, critical_days 7", withCA("https://"+soon+"/", nil), check.Critical, "expires in", []string{"--ssl", "-C", "30,7"}},
		{"expires in 5 days, critical_days 3", withCA("https://"+soon+"/", func(s *Spec) { s.CriticalDays = 3 }), check.Warning, "expires in", []string{"--ssl", "-C", "30,3"}},
		{"expired", withCA("https://"+expired+"/", nil), check.Critical, "invalid certificate: certificate 'localhost' expired", []string{"--ssl", "-C", "30,7"}},
		{"untrusted without ca_file", func(s *Spec) { s.URL = "https://" + valid + "/" }, check.Critical, "unknown authority", nil},
		{"503 over TLS", withCA("https://"+valid+"/fail", nil), check.Critical, "503 in", []string{"--ssl", "-u", "/fail"}},
	}
	runIntegration(t, cases, true)
}

func port(hostport string) string { return hostport[strings.LastIndexByte(hostport, ':')+1:] }

func runIntegration(t *testing.T, cases []itestCase, https bool) {
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			s := spec(https, tt.mod)
			r := run(t, s, 10*time.Second)
			if r.Status != tt.status || !strings.Contains(r.Output, tt.output) {
				t.Fatalf("got %s %q, want %s containing %q", r.Status, r.PluginLine(), tt.status, tt.output)
			}
			if tt.plugin == nil {
				return
			}
			// Monitoring Plugins' check_http must agree on the same target.
			u := s.URL[strings.Index(s.URL, "://")+3:]
			hostport, _, _ := strings.Cut(u, "/")
			args := append([]string{"-I", "127.0.0.1", "-p", port(hostport), "-w", "6", "-c", "10"}, tt.plugin...)
			st, line := checktest.Plugin(t, "check_http", args...)
			if st != int(r.Status) {
				t.Fatalf("check_http says %d (%s), mamori %s (%s)", st, line, r.Status, r.Output)
			}
		})
	}
}
