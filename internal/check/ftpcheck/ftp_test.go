package ftpcheck

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

var kind = checktest.Kind[*Spec]{Name: "ftp"}

// with applies several spec changes in turn.
func with(fs ...func(*Spec)) func(*Spec) {
	return func(s *Spec) {
		for _, f := range fs {
			f(s)
		}
	}
}

// epsv opens a data listener and answers 229; the accepted connection is
// handed to the next transfer rule.
func epsv(c *checktest.LineConn, _ string) {
	ln, port, err := c.Srv.Listen()
	if err != nil {
		c.Send("425 cannot open data connection")
		return
	}
	ch := make(chan net.Conn, 1)
	c.Srv.Go(func() {
		conn, err := ln.Accept()
		ln.Close()
		if err == nil {
			c.Srv.Track(conn)
		}
		ch <- conn
	})
	c.State["data"] = ch
	c.Send(fmt.Sprintf("229 Entering Extended Passive Mode (|||%d|)", port))
}

func data(c *checktest.LineConn) net.Conn {
	ch, _ := c.State["data"].(chan net.Conn)
	if ch == nil {
		return nil
	}
	select {
	case conn := <-ch:
		return conn
	case <-time.After(5 * time.Second):
		return nil
	}
}

// send writes content on the data connection and finishes with 226.
func send(content string) func(*checktest.LineConn, string) {
	return func(c *checktest.LineConn, _ string) {
		if d := data(c); d != nil {
			io.WriteString(d, content)
			d.Close()
		}
		c.Send("226 Transfer complete.")
	}
}

func receive(c *checktest.LineConn, _ string) {
	if d := data(c); d != nil {
		b, _ := io.ReadAll(io.LimitReader(d, 1<<20))
		d.Close()
		c.State["stored"] = string(b)
	}
	c.Send("226 Transfer complete.")
}

func server(t *testing.T, greeting string, mod func(*checktest.Script)) *checktest.LineServer {
	sc := checktest.Script{
		Greeting: greeting,
		Default:  "500 Unknown command.",
		Rules: []checktest.Rule{
			{Match: "AUTH TLS", Reply: "234 Proceed with negotiation.", StartTLS: true},
			{Match: "USER", Reply: "331 Please specify the password."},
			{Match: "PASS good", Reply: "230 Login successful."},
			{Match: "PASS", Reply: "530 Login incorrect."},
			{Match: "TYPE I", Reply: "200 Switching to Binary mode."},
			{Match: "PBSZ", Reply: "200 PBSZ set to 0."},
			{Match: "PROT P", Reply: "200 PROT now Private."},
			{Match: "EPSV", Do: epsv},
			{Match: "LIST", Reply: "150 Here comes the directory listing.", Do: send("-rw-r--r-- 1 0 0 18 hello.txt\r\ndrwxr-xr-x 2 0 0 6 sub\r\n")},
			{Match: "RETR pub/hello.txt", Reply: "150 Opening BINARY mode data connection.", Do: send("hello from mamori\n")},
			{Match: "RETR", Reply: "550 Failed to open file."},
			{Match: "STOR readonly/", Reply: "553 Could not create file."},
			{Match: "STOR", Reply: "150 Ok to send data.", Do: receive},
			{Match: "DELE", Reply: "250 Delete operation successful."},
			{Match: "QUIT", Reply: "221 Goodbye.", Close: true},
		},
	}
	if mod != nil {
		mod(&sc)
	}
	if sc.TLS == nil { // no AUTH TLS: the default 500 answers it
		rules := sc.Rules[:0:0]
		for _, r := range sc.Rules {
			if r.Match != "AUTH TLS" {
				rules = append(rules, r)
			}
		}
		sc.Rules = rules
	}
	return checktest.NewLineServer(t, sc)
}

func TestFTP(t *testing.T) {
	ca := checktest.NewCA(t)
	caFile := ca.PEMFile(t)
	ok := server(t, "220 (vsFTPd 3.0.3)", func(s *checktest.Script) { s.TLS = checktest.ServerTLS(ca.ValidFor(t, 365*24*time.Hour)) })
	plain := server(t, "220-Welcome\n220-to the test server\n220 ready", nil)
	busy := server(t, "421 Too many users, try later.", nil)
	noDele := server(t, "220 ready", func(s *checktest.Script) {
		s.Rules = append([]checktest.Rule{{Match: "DELE", Reply: "550 Delete operation failed."}}, s.Rules...)
	})
	silent := checktest.NewLineServer(t, checktest.Script{})
	huge := server(t, "220 "+strings.Repeat("f", 9000), nil)
	closed := checktest.ClosedPort(t)
	login := func(pass string) func(*Spec) {
		return func(s *Spec) { s.User, s.Password = "mtest", check.NewSecret(pass) }
	}

	tests := []checktest.Case[*Spec]{
		{"greeting", ok.Port, nil, 0, check.OK, "greeting '220 (vsFTPd 3.0.3)'"},
		{"multi-line greeting", plain.Port, nil, 0, check.OK, "greeting '220 Welcome to the test server ready'"},
		{"expect_banner mismatch warns", ok.Port, func(s *Spec) { s.ExpectBanner = "ProFTPD" }, 0, check.Warning, "does not contain 'ProFTPD'"},
		{"421 greeting warns", busy.Port, nil, 0, check.Warning, "unexpected greeting '421 Too many users, try later.'"},
		{"refused", closed, nil, 0, check.Critical, "connection refused"},
		{"silent", silent.Port, nil, 300 * time.Millisecond, check.Critical, "no greeting from 127.0.0.1 port"},
		{"silent says timed out", silent.Port, nil, 300 * time.Millisecond, check.Critical, "timed out"},
		{"oversized greeting", huge.Port, nil, 0, check.Critical, "longer than"},
		{"login", ok.Port, login("good"), 0, check.OK, "logged in as 'mtest'"},
		{"bad password", ok.Port, login("bad"), 0, check.Critical, "login failed for user 'mtest': 530 Login incorrect."},
		{"list", ok.Port, with(login("good"), func(s *Spec) { s.List = "pub" }), 0, check.OK, "listed 'pub' (2 entries)"},
		{"retrieve with expect", ok.Port, with(login("good"), func(s *Spec) { s.Retrieve = "pub/hello.txt"; s.Expect = "hello from mamori" }), 0, check.OK, "retrieved 'pub/hello.txt' (18 bytes)"},
		{"retrieve expect mismatch", ok.Port, with(login("good"), func(s *Spec) { s.Retrieve = "pub/hello.txt"; s.Expect = "farewell" }), 0, check.Critical, "does not contain 'farewell'"},
		{"retrieve missing file", ok.Port, with(login("good"), func(s *Spec) { s.Retrieve = "nope.txt" }), 0, check.Critical, "retrieve 'nope.txt': 550 Failed to open file."},
		{"store", ok.Port, with(login("good"), func(s *Spec) { s.Store = "incoming" }), 0, check.OK, "stored and deleted 'incoming/mamori-check-"},
		{"store refused", ok.Port, with(login("good"), func(s *Spec) { s.Store = "readonly/" }), 0, check.Critical, "store refused: 553 Could not create file."},
		{"store not deleted warns", noDele.Port, with(login("good"), func(s *Spec) { s.Store = "." }), 0, check.Warning, "could not delete it: 550"},
		{"everything", ok.Port, with(login("good"), func(s *Spec) {
			s.List, s.Retrieve, s.Expect, s.Store = ".", "pub/hello.txt", "mamori", "."
		}), 0, check.OK, "stored and deleted"},
		{"auth tls", ok.Port, with(login("good"), func(s *Spec) { s.TLS = true; s.CAFile = caFile; s.WarningDays = 30 }), 0, check.OK, "AUTH TLS ok (TLS 1.3)"},
		{"auth tls unknown ca", ok.Port, func(s *Spec) { s.TLS = true }, 0, check.Critical, "AUTH TLS: certificate signed by an unknown authority"},
		{"auth tls not offered", plain.Port, func(s *Spec) { s.TLS = true }, 0, check.Critical, "AUTH TLS: 500 Unknown command."},
	}
	kind.Table(t, tests, checktest.Hides[*Spec]("good"))
	var stor, dele string
	for _, c := range ok.Commands() {
		if strings.HasPrefix(c, "STOR incoming/") {
			stor = strings.TrimPrefix(c, "STOR ")
		}
		if strings.HasPrefix(c, "DELE incoming/") {
			dele = strings.TrimPrefix(c, "DELE ")
		}
	}
	if stor == "" || stor != dele {
		t.Errorf("stored %q but deleted %q", stor, dele)
	}
}

func TestValidate(t *testing.T) {
	k, _ := check.Lookup("ftp")
	s := k.New().(*Spec)
	if s.Port != 21 || s.Warning != 6*time.Second || s.Critical != 11*time.Second || k.Label != "FTP" {
		t.Errorf("defaults: %+v", s)
	}
	s.List, s.Expect = "pub", "x"
	fields := map[string]bool{}
	for _, e := range s.Validate() {
		fields[e.Field] = true
	}
	for _, f := range []string{"host", "list", "expect"} {
		if !fields[f] {
			t.Errorf("no error for %s: %v", f, fields)
		}
	}
	s = kind.Spec("", 21)
	s.DefaultHost("ftp.example")
	if s.Host != "ftp.example" {
		t.Errorf("DefaultHost: %q", s.Host)
	}
}
