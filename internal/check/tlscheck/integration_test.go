package tlscheck

import (
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

func TestIntegration(t *testing.T) {
	ca := checktest.ITestCA()
	type target struct{ name, env, def string }
	tests := []struct {
		name   string
		target target
		mod    func(*Spec)
		want   check.Status
		out    string
	}{
		{"https valid", target{"nginx", "MAMORI_ITEST_HTTPS_PORT", "8443"}, nil, check.OK, "expires in"},
		{"https expiring warns", target{"nginx", "MAMORI_ITEST_HTTPS_SOON_PORT", "8444"}, func(s *Spec) { s.CriticalDays = 1 }, check.Warning, "expires in"},
		{"https expiring critical by default", target{"nginx", "MAMORI_ITEST_HTTPS_SOON_PORT", "8444"}, nil, check.Critical, "expires in"},
		{"https expired", target{"nginx", "MAMORI_ITEST_HTTPS_EXPIRED_PORT", "8445"}, nil, check.Critical, "expired"},
		{"https without the CA", target{"nginx", "MAMORI_ITEST_HTTPS_PORT", "8443"}, func(s *Spec) { s.CAFile = "" }, check.Critical, "unknown authority"},
		{"https wrong name", target{"nginx", "MAMORI_ITEST_HTTPS_PORT", "8443"}, func(s *Spec) { s.ServerName = "www.example.com" }, check.Critical, "not valid for this host"},
		{"smtp starttls", target{"postfix", "MAMORI_ITEST_SMTP_PORT", "2525"}, func(s *Spec) { s.StartTLS = "smtp" }, check.OK, "via smtp STARTTLS"},
		{"imap starttls", target{"dovecot", "MAMORI_ITEST_IMAP_PORT", "10143"}, func(s *Spec) { s.StartTLS = "imap" }, check.OK, "via imap STARTTLS"},
		{"pop3 starttls", target{"dovecot", "MAMORI_ITEST_POP3_PORT", "10110"}, func(s *Spec) { s.StartTLS = "pop3" }, check.OK, "via pop3 STARTTLS"},
		{"ftp auth tls", target{"vsftpd", "MAMORI_ITEST_FTP_PORT", "2121"}, func(s *Spec) { s.StartTLS = "ftp" }, check.OK, "via ftp STARTTLS"},
		{"imaps", target{"dovecot", "MAMORI_ITEST_IMAPS_PORT", "10993"}, nil, check.OK, "expires in"},
		{"pop3s", target{"dovecot", "MAMORI_ITEST_POP3S_PORT", "10995"}, nil, check.OK, "expires in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := kind.Spec("127.0.0.1", checktest.DaemonPort(t, tt.target.name, tt.target.env, tt.target.def))
			s.CAFile = ca
			if tt.mod != nil {
				tt.mod(s)
			}
			if r := kind.Run(t, s, 0); r.Status != tt.want || !strings.Contains(r.Output, tt.out) {
				t.Errorf("got %s %q, want %s containing %q", r.Status, r.Output, tt.want, tt.out)
			}
		})
	}
	t.Run("stopped daemon", func(t *testing.T) {
		s := kind.Spec("127.0.0.1", checktest.ClosedPort(t))
		if r := kind.Run(t, s, 0); r.Status != check.Critical || !strings.Contains(r.Output, "connection refused") {
			t.Errorf("got %s %q", r.Status, r.Output)
		}
	})
}
