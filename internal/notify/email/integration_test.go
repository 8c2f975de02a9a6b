package email

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"mime"
	"net"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
	"github.com/mamori/mamori/internal/notify"
)

// TestIntegrationPostfixDovecot sends through the real Postfix (STARTTLS
// with the test CA, AUTH) to mtest@localhost and reads the message back
// through the real Dovecot over IMAP.
func TestIntegrationPostfixDovecot(t *testing.T) {
	smtpAddr := checktest.Daemon(t, "postfix", "MAMORI_ITEST_SMTP_PORT", "2525")
	imapAddr := checktest.Daemon(t, "dovecot", "MAMORI_ITEST_IMAP_PORT", "10143")
	user := checktest.Env("MAMORI_ITEST_USER", "mtest")
	pass := checktest.Env("MAMORI_ITEST_PASSWORD", "mtestpass")
	host, port, _ := net.SplitHostPort(smtpAddr)

	for _, mech := range []string{"default", "wrong password"} {
		t.Run(mech, func(t *testing.T) {
			k, _ := notify.Lookup("email")
			s := k.New().(*Spec)
			s.Host, s.Port = host, mustAtoi(port)
			s.StartTLS, s.CAFile = true, checktest.Env("MAMORI_ITEST_CA", "/tmp/mamori-itest/certs/ca.pem")
			s.Username, s.Password = user, check.NewSecret(pass)
			s.From, s.To = "mamori 監視 <mamori@localhost>", []string{user + "@localhost"}
			if mech == "wrong password" {
				s.Password = check.NewSecret("wrong-password")
			}
			if errs := s.Validate(); len(errs) > 0 {
				t.Fatal(errs)
			}
			n, err := s.New(notify.Env{})
			if err != nil {
				t.Fatal(err)
			}
			m := message(t, notify.KindProblem, "ja")
			m.ID = fmt.Sprintf("itest-%d", time.Now().UnixNano())
			m.Thread = "incident/42/" + m.ID
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			r, err := n.Notify(ctx, m)
			if mech == "wrong password" {
				if err == nil || !notify.IsPermanent(err) || r.Status != 535 {
					t.Fatalf("wrong password: receipt %+v, error %v; want a permanent 535", r, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.ProviderID == "" {
				t.Errorf("no queue id in the receipt %+v", r)
			}
			msgID := MessageID(m.ID, &mail.Address{Address: "mamori@localhost"})
			raw := fetchByMessageID(t, imapAddr, user, pass, msgID, 30*time.Second)
			msg, err := mail.ReadMessage(strings.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if err != nil || subject != "【mamori】[CRITICAL] web1/http 障害検知" {
				t.Errorf("subject %q (%v)", subject, err)
			}
			_, _, text, html := parse(t, raw)
			if !strings.Contains(text, "web1 の http で障害を検知しました") || !strings.Contains(html, "&lt;script&gt;") {
				t.Errorf("bodies not as sent:\n%s\n%s", text, html)
			}
			// The recovery of the same incident threads with the problem.
			rm := message(t, notify.KindRecovery, "ja")
			rm.ID, rm.Thread = m.ID+"-recovery", m.Thread
			if _, err := n.Notify(ctx, rm); err != nil {
				t.Fatal(err)
			}
			rraw := fetchByMessageID(t, imapAddr, user, pass, MessageID(rm.ID, &mail.Address{Address: "mamori@localhost"}), 30*time.Second)
			rmsg, err := mail.ReadMessage(strings.NewReader(rraw))
			if err != nil {
				t.Fatal(err)
			}
			root := ThreadID(m.Thread, &mail.Address{Address: "mamori@localhost"})
			for _, hm := range []*mail.Message{msg, rmsg} {
				if hm.Header.Get("In-Reply-To") != root || hm.Header.Get("References") != root {
					t.Errorf("not threaded: In-Reply-To %q References %q, want %q", hm.Header.Get("In-Reply-To"), hm.Header.Get("References"), root)
				}
			}
		})
	}
}

func mustAtoi(s string) int { n, _ := strconv.Atoi(s); return n }

// imapClient is the least IMAP4rev1 needed here: tagged commands and
// literals.
type imapClient struct {
	c   net.Conn
	r   *bufio.Reader
	tag int
}

var literalRE = regexp.MustCompile(`\{(\d+)\}\r\n$`)

// cmd sends a command and returns the untagged data (literals inlined) up to
// the tagged OK.
func (c *imapClient) cmd(t *testing.T, format string, args ...any) string {
	t.Helper()
	c.tag++
	tag := fmt.Sprintf("a%d", c.tag)
	c.c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c.c, "%s %s\r\n", tag, fmt.Sprintf(format, args...))
	var out strings.Builder
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			t.Fatalf("IMAP %s: %v", format, err)
		}
		if m := literalRE.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			buf := make([]byte, n)
			if _, err := ioReadFull(c.r, buf); err != nil {
				t.Fatal(err)
			}
			out.WriteString(line)
			out.Write(buf)
			continue
		}
		if strings.HasPrefix(line, tag+" ") {
			if !strings.HasPrefix(line, tag+" OK") {
				t.Fatalf("IMAP %s: %s", strings.SplitN(format, " ", 2)[0], line)
			}
			return out.String()
		}
		out.WriteString(line)
	}
}

func fetchByMessageID(t *testing.T, addr, user, pass, msgID string, wait time.Duration) string {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := &imapClient{c: nc, r: bufio.NewReader(nc)}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if greet, err := c.r.ReadString('\n'); err != nil || !strings.HasPrefix(greet, "* OK") {
		t.Fatalf("IMAP greeting %q %v", greet, err)
	}
	c.cmd(t, "LOGIN %s %s", quote(user), quote(pass))
	deadline := time.Now().Add(wait)
	for {
		c.cmd(t, "SELECT INBOX")
		res := c.cmd(t, "UID SEARCH HEADER Message-ID %s", quote(msgID))
		var uids []string
		for _, l := range strings.Split(res, "\r\n") {
			if strings.HasPrefix(l, "* SEARCH") {
				uids = strings.Fields(strings.TrimPrefix(l, "* SEARCH"))
			}
		}
		if len(uids) > 0 {
			data := c.cmd(t, "UID FETCH %s BODY.PEEK[]", uids[0])
			i := strings.Index(data, "}\r\n")
			if i < 0 {
				t.Fatalf("FETCH without a literal: %q", data)
			}
			m := literalRE.FindStringSubmatch(data[:i+3])
			n, _ := strconv.Atoi(m[1])
			body := data[i+3 : i+3+n]
			c.cmd(t, "LOGOUT")
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s not in INBOX after %v", msgID, wait)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func ioReadFull(r *bufio.Reader, buf []byte) (int, error) { return io.ReadFull(r, buf) }
