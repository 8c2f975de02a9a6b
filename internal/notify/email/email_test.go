package email

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
	"github.com/mamori/mamori/internal/check/fieldset"
	"github.com/mamori/mamori/internal/notify"
	"github.com/mamori/mamori/internal/notify/tmpl"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden file:\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func message(t *testing.T, kind, lang string) notify.Message {
	t.Helper()
	m := notify.Message{
		ID: "ob-42-1", Kind: kind, Lang: lang, Check: "http", Host: "web1",
		State: "CRITICAL", PreviousState: "OK", StateType: "hard",
		Output: `HTTP CRITICAL - <script>alert("x")</script>`,
		Time:   time.Date(2025, 1, 2, 18, 4, 5, 0, time.UTC), IncidentID: 42,
		IncidentURL: "https://mamori.example.jp/incidents/42", AckURL: "https://mamori.example.jp/ack/42?sig=abc",
	}
	if kind == notify.KindRecovery {
		m.State, m.PreviousState, m.Output, m.ProblemFor = "OK", "CRITICAL", "HTTP OK", 12*time.Minute
	}
	if err := tmpl.Render(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// fakeSMTP is a small SMTP server that records the conversation.
type fakeCfg struct {
	implicit  bool
	starttls  bool
	auth      string // offered mechanisms, "" for none
	rcptReply func(addr string) string
	dataReply string
	hang      bool
}

type fakeSMTP struct {
	fakeCfg
	t   *testing.T
	ln  net.Listener
	tls *tls.Config

	mu     sync.Mutex
	convo  []string
	data   []string
	authOK bool
}

func newFake(t *testing.T, cfg fakeCfg) *fakeSMTP {
	t.Helper()
	f := &fakeSMTP{fakeCfg: cfg}
	ca := checktest.NewCA(t)
	cert := ca.ValidFor(t, time.Hour)
	f.t = t
	f.tls = &tls.Config{Certificates: []tls.Certificate{cert}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if f.implicit {
		ln = tls.NewListener(ln, f.tls)
	}
	f.ln = ln
	if f.dataReply == "" {
		f.dataReply = "250 2.0.0 Ok: queued as 4XyZ12AbC"
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pemCert(ca), 0o644)
	f.mu.Lock()
	f.data = append(f.data, "CA:"+caFile) // first entry: the CA file for the client
	f.mu.Unlock()
	go f.serve()
	t.Cleanup(func() { ln.Close() })
	return f
}

func (f *fakeSMTP) caFile() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.TrimPrefix(f.data[0], "CA:")
}

func (f *fakeSMTP) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		go f.handle(c)
	}
}

func (f *fakeSMTP) log(s string) { f.mu.Lock(); f.convo = append(f.convo, s); f.mu.Unlock() }

func (f *fakeSMTP) handle(c net.Conn) {
	defer c.Close()
	if f.hang {
		time.Sleep(3 * time.Second)
		return
	}
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	say := func(s string) { w.WriteString(s + "\r\n"); w.Flush() }
	_, secure := c.(*tls.Conn)
	say("220 fake.test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		if verb == "AUTH" && strings.HasPrefix(strings.ToUpper(line), "AUTH PLAIN ") {
			f.log("AUTH PLAIN <credentials>")
		} else {
			f.log(line)
		}
		switch verb {
		case "EHLO":
			ext := []string{"250-fake.test", "250-PIPELINING", "250-8BITMIME"}
			if f.starttls && !secure {
				ext = append(ext, "250-STARTTLS")
			}
			if f.auth != "" {
				ext = append(ext, "250-AUTH "+f.auth)
			}
			ext[len(ext)-1] = "250 " + ext[len(ext)-1][4:]
			for _, e := range ext {
				w.WriteString(e + "\r\n")
			}
			w.Flush()
		case "STARTTLS":
			say("220 2.0.0 Ready to start TLS")
			tc := tls.Server(c, f.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, secure = tc, true
			r, w = bufio.NewReader(tc), bufio.NewWriter(tc)
		case "AUTH":
			up := strings.ToUpper(line)
			var user, pass string
			if strings.HasPrefix(up, "AUTH PLAIN ") {
				b, _ := base64.StdEncoding.DecodeString(line[len("AUTH PLAIN "):])
				parts := strings.Split(string(b), "\x00")
				if len(parts) == 3 {
					user, pass = parts[1], parts[2]
				}
			} else if up == "AUTH LOGIN" {
				say("334 VXNlcm5hbWU6")
				l1, _ := r.ReadString('\n')
				say("334 UGFzc3dvcmQ6")
				l2, _ := r.ReadString('\n')
				u, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(l1))
				p, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(l2))
				user, pass = string(u), string(p)
				f.log("<login credentials>")
			}
			if !secure {
				f.t.Errorf("AUTH over a connection without TLS")
			}
			if user == "mtest" && pass == "mtestpass" {
				f.mu.Lock()
				f.authOK = true
				f.mu.Unlock()
				say("235 2.7.0 Authentication successful")
			} else {
				say("535 5.7.8 Error: authentication failed")
			}
		case "MAIL":
			say("250 2.1.0 Ok")
		case "RCPT":
			reply := "250 2.1.5 Ok"
			if f.rcptReply != nil {
				addr := strings.TrimSuffix(strings.TrimPrefix(line[len("RCPT TO:"):], "<"), ">")
				reply = f.rcptReply(addr)
			}
			say(reply)
		case "DATA":
			say("354 End data with <CR><LF>.<CR><LF>")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				if !strings.HasSuffix(l, "\r\n") || strings.Contains(strings.TrimSuffix(l, "\r\n"), "\r") {
					f.t.Errorf("bare CR or LF in DATA line %q", l)
				}
				if len(l) > 1000 {
					f.t.Errorf("DATA line of %d octets", len(l))
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			f.mu.Lock()
			f.data = append(f.data, b.String())
			f.mu.Unlock()
			say(f.dataReply)
		case "QUIT":
			say("221 2.0.0 Bye")
			return
		default:
			say("502 5.5.2 Error: command not recognized")
		}
	}
}

func (f *fakeSMTP) spec() *Spec {
	k, _ := notify.Lookup("email")
	s := k.New().(*Spec)
	host, port, _ := net.SplitHostPort(f.ln.Addr().String())
	fmt.Sscan(port, &s.Port)
	s.Host, s.From, s.To = host, "mamori 監視 <mamori@monitor.test>", []string{"ops@example.jp"}
	s.CAFile = f.caFile()
	s.StartTLS = f.starttls
	return s
}

func newNotifier(t *testing.T, s *Spec) *Notifier {
	t.Helper()
	n, err := s.New(notify.Env{})
	if err != nil {
		t.Fatal(err)
	}
	nn := n.(*Notifier)
	nn.now = func() time.Time { return time.Date(2025, 1, 3, 3, 4, 6, 0, time.FixedZone("JST", 9*3600)) }
	return nn
}

// parse reads a sent message back as a mail reader does.
func parse(t *testing.T, raw string) (hdr mail.Header, subject, text, html string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		switch p.Header.Get("Content-Type") {
		case "text/plain; charset=UTF-8":
			text = string(b)
		case "text/html; charset=UTF-8":
			html = string(b)
		default:
			t.Errorf("unexpected part %q", p.Header.Get("Content-Type"))
		}
	}
	return msg.Header, subject, text, html
}

func TestSendGolden(t *testing.T) {
	f := newFake(t, fakeCfg{starttls: true, auth: "PLAIN LOGIN"})
	s := f.spec()
	s.Username, s.Password = "mtest", check.NewSecret("mtestpass")
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	n := newNotifier(t, s)
	m := message(t, notify.KindProblem, "ja")
	r, err := n.Notify(context.Background(), m)
	if err != nil || r.ProviderID != "4XyZ12AbC" || r.Status != 250 {
		t.Fatalf("receipt %+v, error %v", r, err)
	}
	f.mu.Lock()
	convo, raw := strings.Join(f.convo, "\n"), f.data[1]
	f.mu.Unlock()
	golden(t, "conversation", strings.ReplaceAll(convo, n.helo, "HELO-NAME")+"\n")
	golden(t, "message_problem_ja", strings.ReplaceAll(raw, "\r\n", "\n"))

	hdr, subject, text, html := parse(t, raw)
	if subject != "【mamori】[CRITICAL] web1/http 障害検知" {
		t.Errorf("subject %q", subject)
	}
	for k, want := range map[string]string{
		"Message-ID": MessageID("ob-42-1", &mail.Address{Address: "mamori@monitor.test"}), "MIME-Version": "1.0",
		"Auto-Submitted": "auto-generated", "To": "<ops@example.jp>",
	} {
		if got := hdr.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if from, err := hdr.AddressList("From"); err != nil || from[0].Name != "mamori 監視" || from[0].Address != "mamori@monitor.test" {
		t.Errorf("From %v %v", from, err)
	}
	if _, err := hdr.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if strings.ReplaceAll(text, "\r\n", "\n") != m.Text {
		t.Errorf("text part:\n%q\nwant\n%q", text, m.Text)
	}
	if strings.Contains(html, "<script>") || !strings.Contains(html, "&lt;script&gt;") {
		t.Errorf("HTML part not escaped: %s", html)
	}
	if strings.Contains(html, "\r\n") {
		html = strings.ReplaceAll(html, "\r\n", "\n")
	}
	if html != m.HTML {
		t.Errorf("html part differs")
	}
}

func TestConversations(t *testing.T) {
	for _, tt := range []struct {
		name      string
		fake      fakeCfg
		mod       func(*Spec)
		to        string
		wantErr   bool
		permanent bool
		status    int
		contains  string
	}{
		{name: "auth login", fake: fakeCfg{starttls: true, auth: "LOGIN"}, mod: func(s *Spec) { s.Username, s.Password = "mtest", check.NewSecret("mtestpass") }},
		{name: "implicit tls", fake: fakeCfg{implicit: true, auth: "PLAIN"}, mod: func(s *Spec) {
			s.TLS, s.StartTLS, s.Username, s.Password = true, false, "mtest", check.NewSecret("mtestpass")
		}},
		{name: "plain relay", fake: fakeCfg{}, mod: func(s *Spec) { s.StartTLS = false }},
		{name: "contact address overrides", fake: fakeCfg{starttls: true, rcptReply: func(a string) string {
			if a != "yamada@example.jp" {
				return "550 5.1.1 unexpected"
			}
			return "250 Ok"
		}}, to: "山田 <yamada@example.jp>"},
		{name: "one of two refused", fake: fakeCfg{starttls: true, rcptReply: func(a string) string {
			if a == "bad@example.jp" {
				return "550 5.1.1 <bad@example.jp>: Recipient address rejected"
			}
			return "250 Ok"
		}}, mod: func(s *Spec) { s.To = []string{"bad@example.jp", "ops@example.jp"} }},
		{name: "rcpt 550", fake: fakeCfg{starttls: true, rcptReply: func(string) string { return "550 5.1.1 User unknown" }},
			wantErr: true, permanent: true, status: 550, contains: "User unknown"},
		{name: "rcpt 451", fake: fakeCfg{starttls: true, rcptReply: func(string) string { return "451 4.3.0 Try again later" }},
			wantErr: true, status: 451},
		{name: "data 554", fake: fakeCfg{starttls: true, dataReply: "554 5.7.1 Rejected: spam"}, wantErr: true, permanent: true, status: 554},
		{name: "data 452", fake: fakeCfg{starttls: true, dataReply: "452 4.3.1 Insufficient system storage"}, wantErr: true, status: 452},
		{name: "auth failed", fake: fakeCfg{starttls: true, auth: "PLAIN"}, mod: func(s *Spec) { s.Username, s.Password = "mtest", check.NewSecret("wrong") },
			wantErr: true, permanent: true, status: 535},
		{name: "starttls required but not offered", fake: fakeCfg{}, mod: func(s *Spec) { s.StartTLS = true }, wantErr: true, permanent: true, contains: "STARTTLS"},
		{name: "auth refused without tls", fake: fakeCfg{auth: "PLAIN"}, mod: func(s *Spec) {
			s.StartTLS, s.Username, s.Password = false, "mtest", check.NewSecret("mtestpass")
		}, wantErr: true, permanent: true, contains: "without TLS"},
		{name: "untrusted certificate", fake: fakeCfg{starttls: true}, mod: func(s *Spec) { s.CAFile = "" }, wantErr: true, contains: "certificate"},
		{name: "no recipient", fake: fakeCfg{starttls: true}, mod: func(s *Spec) { s.To = nil }, wantErr: true, permanent: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.fake)
			s := f.spec()
			if tt.mod != nil {
				tt.mod(s)
			}
			m := message(t, notify.KindRecovery, "en")
			m.To = tt.to
			r, err := newNotifier(t, s).Notify(context.Background(), m)
			if (err != nil) != tt.wantErr || notify.IsPermanent(err) != tt.permanent {
				t.Fatalf("error %v (permanent %v), want error %v permanent %v", err, notify.IsPermanent(err), tt.wantErr, tt.permanent)
			}
			if tt.status != 0 && r.Status != tt.status {
				t.Errorf("status %d, want %d", r.Status, tt.status)
			}
			if tt.contains != "" && !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %v lacks %q", err, tt.contains)
			}
			if strings.Contains(fmt.Sprint(err), "mtestpass") {
				t.Errorf("error reveals the password")
			}
		})
	}
}

func TestUnreachableAndDeadline(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	k, _ := notify.Lookup("email")
	s := k.New().(*Spec)
	host, port, _ := net.SplitHostPort(addr)
	fmt.Sscan(port, &s.Port)
	s.Host, s.From, s.To = host, "mamori@monitor.test", []string{"ops@example.jp"}
	if _, err := newNotifier(t, s).Notify(context.Background(), message(t, notify.KindProblem, "ja")); err == nil || notify.IsPermanent(err) {
		t.Errorf("connection refused: %v, want a temporary error", err)
	}

	f := newFake(t, fakeCfg{hang: true})
	s = f.spec()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := newNotifier(t, s).Notify(ctx, message(t, notify.KindProblem, "ja"))
	if err == nil || notify.IsPermanent(err) || time.Since(start) > 2*time.Second {
		t.Errorf("silent server: %v after %v, want a temporary error at the deadline", err, time.Since(start))
	}
}

func TestMessageIDStable(t *testing.T) {
	from := &mail.Address{Address: "mamori@monitor.test"}
	a, b := MessageID("ob-1", from), MessageID("ob-1", from)
	if a != b || a == MessageID("ob-2", from) || !strings.HasSuffix(a, "@monitor.test>") {
		t.Errorf("%s %s", a, b)
	}
	if _, err := mail.ParseAddress(strings.Trim(a, "<>")); err != nil {
		t.Errorf("Message-ID %s is not addr-spec shaped: %v", a, err)
	}
}

func TestLongJapaneseSubjectFolded(t *testing.T) {
	m := message(t, notify.KindProblem, "ja")
	m.Subject = strings.Repeat("とても長い件名です。", 20)
	raw, err := Build(&m, &mail.Address{Address: "a@b.test"}, []*mail.Address{{Address: "c@d.test"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(raw), "\r\n") {
		if len(l) > 78 && !strings.HasPrefix(l, "Content-Type:") && !strings.HasPrefix(l, "--") {
			t.Errorf("line of %d octets: %q", len(l), l)
		}
	}
	msg, _ := mail.ReadMessage(strings.NewReader(string(raw)))
	got, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || got != m.Subject {
		t.Errorf("subject %q %v", got, err)
	}
}

func TestValidate(t *testing.T) {
	k, ok := notify.Lookup("email")
	if !ok || k.Recipient != "email" {
		t.Fatalf("kind %+v", k)
	}
	fieldset.Of(k.New())
	s := k.New().(*Spec)
	s.From, s.To, s.Username, s.StartTLS = "not an address", []string{"x"}, "u", false
	got := fmt.Sprint(s.Validate())
	for _, f := range []string{"smtp_host:", "from:", "to:", "password:", "username:"} {
		if !strings.Contains(got, f) {
			t.Errorf("errors %s lack %s", got, f)
		}
	}
}

func pemCert(ca *checktest.CA) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}
