package sescheck

import (
	"context"
	"crypto/tls"

	"fmt"
	"strconv"
	"strings"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/proto"
)

// Mailbox is where the test mail is expected: the receiving side of the
// send-and-receive test.
type Mailbox struct {
	Protocol    string       `yaml:"mailbox_protocol" help:"imap or pop3"`
	Host        string       `yaml:"mailbox_host" help:"IMAP/POP3 server of the mailbox the test mail is sent to (enables the send test with to)"`
	Port        int          `yaml:"mailbox_port" help:"port (default: 143/993 for IMAP, 110/995 for POP3)"`
	TLS         bool         `yaml:"mailbox_tls" help:"implicit TLS (IMAPS/POP3S)"`
	StartTLS    bool         `yaml:"mailbox_starttls" help:"upgrade with STARTTLS/STLS before logging in"`
	User        string       `yaml:"mailbox_user" help:"mailbox login"`
	Password    check.Secret `yaml:"mailbox_password" help:"mailbox password (${ENV} or file:PATH)"`
	Folder      string       `yaml:"mailbox_folder" help:"IMAP folder to search (default INBOX)"`
	CAFile      string       `yaml:"mailbox_ca_file" help:"PEM file of CA certificates to trust for the mailbox"`
	InsecureTLS bool         `yaml:"mailbox_insecure_skip_verify" help:"do not verify the mailbox server's certificate"`
}

func (m *Mailbox) port() int {
	switch {
	case m.Port != 0:
		return m.Port
	case m.Protocol == "pop3" && m.TLS:
		return 995
	case m.Protocol == "pop3":
		return 110
	case m.TLS:
		return 993
	}
	return 143
}

func (m *Mailbox) validate() []check.FieldError {
	var errs []check.FieldError
	if m.Protocol != "imap" && m.Protocol != "pop3" {
		errs = append(errs, check.Errf("mailbox_protocol", "must be imap or pop3, not %q", m.Protocol))
	}
	if m.TLS && m.StartTLS {
		errs = append(errs, check.Errf("mailbox_starttls", "cannot be combined with mailbox_tls"))
	}
	if m.User == "" {
		errs = append(errs, check.Errf("mailbox_user", "is required with mailbox_host"))
	}
	if strings.ContainsAny(m.Folder, "\r\n\"") {
		errs = append(errs, check.Errf("mailbox_folder", "must not contain line breaks or quotes"))
	}
	return errs
}

// open connects, reads the greeting, upgrades to TLS as asked.
func (m *Mailbox) open(ctx context.Context) (*proto.Conn, error) {
	var cfg *tls.Config
	if m.TLS || m.StartTLS {
		var err error
		cfg, err = proto.TLSOptions{CAFile: m.CAFile, InsecureSkipVerify: m.InsecureTLS}.TLSConfig(m.Host)
		if err != nil {
			return nil, err
		}
	}
	c, err := proto.Dial(ctx, m.Host, m.port())
	if err != nil {
		return nil, err
	}
	if m.TLS {
		if _, err := c.UpgradeTLS(cfg); err != nil {
			c.Close()
			return nil, err
		}
	}
	if _, err := c.ReadLine(); err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if m.StartTLS {
		if m.Protocol == "pop3" {
			_, err = (&proto.POP3{Conn: c}).StartTLS(cfg)
		} else {
			_, err = (&proto.IMAP{Conn: c}).StartTLS(cfg)
		}
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("STARTTLS: %w", err)
		}
	}
	return c, nil
}

// take looks for a message whose Subject contains token and deletes it.
func (m *Mailbox) take(ctx context.Context, token string) (bool, error) {
	c, err := m.open(ctx)
	if err != nil {
		return false, err
	}
	defer c.Close()
	if m.Protocol == "pop3" {
		return m.takePOP3(&proto.POP3{Conn: c}, token)
	}
	return m.takeIMAP(&proto.IMAP{Conn: c}, token)
}

func (m *Mailbox) takeIMAP(im *proto.IMAP, token string) (bool, error) {
	defer im.Logout()
	caps, err := im.Capabilities()
	if err != nil {
		return false, err
	}
	if _, err := im.Login(m.User, m.Password.Reveal(), caps); err != nil {
		return false, err
	}
	folder := m.Folder
	if folder == "" {
		folder = "INBOX"
	}
	if _, err := im.Cmd("SELECT "+folder, "SELECT \"%s\"", folder); err != nil {
		return false, err
	}
	lines, err := im.Cmd("SEARCH", "SEARCH HEADER Subject %s", token)
	if err != nil {
		return false, err
	}
	var ids []string
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, "* SEARCH"); ok {
			ids = append(ids, strings.Fields(rest)...)
		}
	}
	if len(ids) == 0 {
		return false, nil
	}
	if _, err := im.Cmd("STORE", "STORE %s +FLAGS.SILENT (\\Deleted)", strings.Join(ids, ",")); err != nil {
		return true, err
	}
	_, err = im.Cmd("EXPUNGE", "EXPUNGE")
	return true, err
}

// takePOP3 reads the headers of the newest messages (TOP n 0).
func (m *Mailbox) takePOP3(p *proto.POP3, token string) (bool, error) {
	if err := p.Login(m.User, m.Password.Reveal()); err != nil {
		return false, err
	}
	n, _, err := p.Stat()
	if err != nil {
		return false, err
	}
	found := false
	for i := n; i >= 1 && i > n-50; i-- {
		if _, err := p.Cmd("TOP", "TOP %d 0", i); err != nil {
			return found, err
		}
		hit, err := readHeaders(p, token)
		if err != nil {
			return found, err
		}
		if hit {
			found = true
			if _, err := p.Cmd("DELE", "DELE %s", strconv.Itoa(i)); err != nil {
				return found, err
			}
		}
	}
	_, err = p.Cmd("QUIT", "QUIT") // deletions take effect on QUIT
	return found, err
}

// readHeaders reads a multi-line answer up to "." and reports whether a
// Subject line contains token.
func readHeaders(p *proto.POP3, token string) (bool, error) {
	hit := false
	for {
		l, err := p.ReadLine()
		if err != nil {
			return hit, err
		}
		if l == "." {
			return hit, nil
		}
		if strings.HasPrefix(strings.ToLower(l), "subject:") && strings.Contains(l, token) {
			hit = true
		}
	}
}
