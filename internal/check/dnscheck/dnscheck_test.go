package dnscheck

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mamori/mamori/internal/check"
)

// zone answers for the zone "test." like the integration dnsmasq does for
// monitor.test, plus failure cases.
type zone struct {
	tcpQueries atomic.Int32
}

func rr(t testing.TB, s string) dns.RR {
	r, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (z *zone) handler(t testing.TB) dns.Handler {
	records := map[string][]dns.RR{
		"app.test.|A":                 {rr(t, "app.test. 60 IN A 10.20.30.40"), rr(t, "app.test. 60 IN A 10.20.30.41")},
		"v6.test.|AAAA":               {rr(t, "v6.test. 60 IN AAAA fd00::1")},
		"test.|MX":                    {rr(t, "test. 60 IN MX 10 mail.test."), rr(t, "test. 60 IN MX 20 backup.test.")},
		"test.|NS":                    {rr(t, "test. 60 IN NS ns1.test.")},
		"test.|SOA":                   {rr(t, "test. 60 IN SOA ns1.test. hostmaster.test. 2026112101 3600 600 86400 60")},
		"test.|CAA":                   {rr(t, `test. 60 IN CAA 0 issue "letsencrypt.org"`)},
		"txt.test.|TXT":               {rr(t, `txt.test. 60 IN TXT "mamori-ok"`), rr(t, `txt.test. 60 IN TXT "v=spf1 " "-all"`)},
		"www.test.|A":                 {rr(t, "www.test. 60 IN CNAME app.test."), rr(t, "app.test. 60 IN A 10.20.30.40")},
		"www.test.|CNAME":             {rr(t, "www.test. 60 IN CNAME app.test.")},
		"_sip._tcp.test.|SRV":         {rr(t, "_sip._tcp.test. 60 IN SRV 10 5 5060 sip.test.")},
		"1.2.0.192.in-addr.arpa.|PTR": {rr(t, "1.2.0.192.in-addr.arpa. 60 IN PTR host.test.")},
		"big.test.|TXT":               {rr(t, `big.test. 60 IN TXT "`+strings.Repeat("a", 250)+`"`)},
		"app.test.|AAAA":              nil, // exists, no AAAA
		"empty.test.|A":               nil,
	}
	return dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative = true
		q := req.Question[0]
		_, isTCP := w.RemoteAddr().(*net.TCPAddr)
		if isTCP {
			z.tcpQueries.Add(1)
		}
		key := strings.ToLower(q.Name) + "|" + dns.TypeToString[q.Qtype]
		switch {
		case q.Name == "fail.test.":
			m.Rcode = dns.RcodeServerFailure
		case q.Name == "refused.test.":
			m.Rcode = dns.RcodeRefused
		case q.Name == "slow.test.":
			time.Sleep(120 * time.Millisecond)
			m.Answer = []dns.RR{rr(t, "slow.test. 60 IN A 10.0.0.9")}
		case q.Name == "norecurse.test.":
			if req.RecursionDesired {
				m.Rcode = dns.RcodeRefused
			} else {
				m.Answer = []dns.RR{rr(t, "norecurse.test. 60 IN A 10.0.0.8")}
			}
		case q.Name == "big.test." && !isTCP:
			m.Truncated = true // "too big for UDP": the client must retry over TCP
		default:
			ans, ok := records[key]
			if !ok {
				// The name may exist with other types (NODATA), else NXDOMAIN.
				exists := false
				for k := range records {
					if strings.HasPrefix(k, strings.ToLower(q.Name)+"|") {
						exists = true
					}
				}
				if !exists {
					m.Rcode = dns.RcodeNameError
				}
			}
			m.Answer = ans
		}
		w.WriteMsg(m)
	})
}

// startServer runs the zone on 127.0.0.1 over UDP and TCP on the same port.
func startServer(t testing.TB) (string, *zone) {
	t.Helper()
	z := &zone{}
	h := z.handler(t)
	var pc net.PacketConn
	var l net.Listener
	var err error
	for i := 0; i < 20; i++ {
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	udp := &dns.Server{PacketConn: pc, Handler: h}
	tcp := &dns.Server{Listener: l, Handler: h}
	for _, s := range []*dns.Server{udp, tcp} {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		go s.ActivateAndServe()
		<-started
	}
	t.Cleanup(func() { udp.Shutdown(); tcp.Shutdown() })
	return pc.LocalAddr().String(), z
}

func run(t testing.TB, s *Spec, timeout time.Duration) check.Result {
	t.Helper()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("Validate: %v", errs)
	}
	c, err := s.New(check.Env{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	k, _ := check.Lookup("dns")
	return check.Run(context.Background(), k, c, timeout)
}

func TestQueries(t *testing.T) {
	addr, z := startServer(t)
	tests := []struct {
		name   string
		mod    func(*Spec)
		status check.Status
		output string
	}{
		{"A", func(s *Spec) { s.Name = "app.test" }, check.OK, "DNS OK - app.test A: 10.20.30.40, 10.20.30.41 in "},
		{"A expected", func(s *Spec) { s.Name = "app.test"; s.Expect = []string{"10.20.30.41,10.20.30.40"} }, check.OK, "10.20.30.40"},
		{"A expect mismatch", func(s *Spec) { s.Name = "app.test"; s.Expect = []string{"10.20.30.40", "10.9.9.9"} }, check.Critical, "expected 10.9.9.9 not in the answer (10.20.30.40, 10.20.30.41)"},
		{"A via CNAME", func(s *Spec) { s.Name = "www.test"; s.Expect = []string{"10.20.30.40"} }, check.OK, "www.test A: 10.20.30.40"},
		{"AAAA", func(s *Spec) { s.Name = "v6.test"; s.RecordType = "AAAA"; s.Expect = []string{"fd00:0::1"} }, check.OK, "v6.test AAAA: fd00::1"},
		{"AAAA lowercase type", func(s *Spec) { s.Name = "v6.test"; s.RecordType = "aaaa" }, check.OK, "fd00::1"},
		{"MX full", func(s *Spec) { s.Name = "test"; s.RecordType = "MX"; s.Expect = []string{"10 mail.test."} }, check.OK, "test MX: 10 mail.test., 20 backup.test."},
		{"MX host only", func(s *Spec) { s.Name = "test."; s.RecordType = "MX"; s.Expect = []string{"MAIL.test", "backup.test"} }, check.OK, "10 mail.test."},
		{"MX wrong preference", func(s *Spec) { s.Name = "test"; s.RecordType = "MX"; s.Expect = []string{"20 mail.test"} }, check.Critical, "expected 20 mail.test not in the answer"},
		{"TXT", func(s *Spec) {
			s.Name = "txt.test"
			s.RecordType = "TXT"
			s.Expect = []string{"mamori-ok", "v=spf1 -all"}
		}, check.OK, "mamori-ok"},
		{"TXT mismatch", func(s *Spec) { s.Name = "txt.test"; s.RecordType = "TXT"; s.Expect = []string{"mamori"} }, check.Critical, "expected mamori not in the answer"},
		{"CNAME", func(s *Spec) { s.Name = "www.test"; s.RecordType = "CNAME"; s.Expect = []string{"app.test"} }, check.OK, "www.test CNAME: app.test."},
		{"NS", func(s *Spec) { s.Name = "test"; s.RecordType = "NS"; s.Expect = []string{"ns1.test"} }, check.OK, "ns1.test."},
		{"SOA", func(s *Spec) { s.Name = "test"; s.RecordType = "SOA"; s.Expect = []string{"ns1.test"} }, check.OK, "ns1.test. hostmaster.test. 2026112101"},
		{"SRV", func(s *Spec) {
			s.Name = "_sip._tcp.test"
			s.RecordType = "SRV"
			s.Expect = []string{"10 5 5060 sip.test"}
		}, check.OK, "10 5 5060 sip.test."},
		{"PTR from an IP", func(s *Spec) { s.Name = "192.0.2.1"; s.RecordType = "PTR"; s.Expect = []string{"host.test"} }, check.OK, "host.test."},
		{"CAA", func(s *Spec) { s.Name = "test"; s.RecordType = "CAA"; s.Expect = []string{"letsencrypt.org"} }, check.OK, `0 issue "letsencrypt.org"`},
		{"NXDOMAIN", func(s *Spec) { s.Name = "nope.test" }, check.Critical, "DNS CRITICAL - nope.test A: NXDOMAIN for a name that must exist"},
		{"NXDOMAIN expected", func(s *Spec) { s.Name = "nope.test"; s.ExpectNXDomain = true }, check.OK, "NXDOMAIN as expected"},
		{"answer when NXDOMAIN expected", func(s *Spec) { s.Name = "app.test"; s.ExpectNXDomain = true }, check.Critical, "must not exist but it answers 10.20.30.40"},
		{"SERVFAIL", func(s *Spec) { s.Name = "fail.test" }, check.Critical, "answered SERVFAIL"},
		{"REFUSED", func(s *Spec) { s.Name = "refused.test" }, check.Critical, "answered REFUSED"},
		// NODATA: the name exists without a record of the type. The seed's
		// DNS rows call a name that cannot be resolved CRITICAL (check_dig agrees).
		{"no record of the type", func(s *Spec) { s.Name = "app.test"; s.RecordType = "AAAA" }, check.Critical, "no AAAA record in the answer"},
		{"no record but expected", func(s *Spec) { s.Name = "empty.test"; s.Expect = []string{"10.0.0.1"} }, check.Critical, "no A record"},
		{"recursion off", func(s *Spec) { s.Name = "norecurse.test"; s.Recursion = false }, check.OK, "10.0.0.8"},
		{"recursion on", func(s *Spec) { s.Name = "norecurse.test" }, check.Critical, "REFUSED"},
		{"TCP", func(s *Spec) { s.Name = "app.test"; s.TCP = true }, check.OK, "10.20.30.40"},
		{"truncated UDP retried over TCP", func(s *Spec) { s.Name = "big.test"; s.RecordType = "TXT" }, check.OK, "aaaa"},
		{"slow WARNING", func(s *Spec) { s.Name = "slow.test"; s.Warning, s.Critical = 50*time.Millisecond, time.Second }, check.Warning, "slower than 50ms"},
		{"slow CRITICAL", func(s *Spec) {
			s.Name = "slow.test"
			s.Warning, s.Critical = 50*time.Millisecond, 100*time.Millisecond
		}, check.Critical, "slower than 100ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSpec()
			s.Server = addr
			tt.mod(s)
			before := z.tcpQueries.Load()
			r := run(t, s, 3*time.Second)
			if r.Status != tt.status || !strings.Contains(r.Output, tt.output) {
				t.Fatalf("got %s %q, want %s containing %q", r.Status, r.PluginLine(), tt.status, tt.output)
			}
			if len(r.Perf) != 1 || r.Perf[0].Label != "time" {
				t.Errorf("perfdata %v", r.Perf)
			}
			if (s.TCP || s.Name == "big.test") != (z.tcpQueries.Load() > before) {
				t.Errorf("tcp queries %d → %d", before, z.tcpQueries.Load())
			}
		})
	}
}

func TestNoAnswer(t *testing.T) {
	// A UDP socket that reads and never answers.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var got atomic.Int32
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			got.Add(1)
		}
	}()
	s := newSpec()
	s.Name, s.Server = "app.test", pc.LocalAddr().String()
	start := time.Now()
	r := run(t, s, 400*time.Millisecond)
	if r.Status != check.Critical || !strings.Contains(r.Output, "no answer within") {
		t.Fatalf("got %s %q", r.Status, r.Output)
	}
	if d := time.Since(start); d > 2*time.Second { // the 400 ms deadline ends it (margin for a loaded machine)
		t.Fatalf("took %s", d)
	}
	if n := got.Load(); n != 2 {
		t.Errorf("server got %d queries, want 2 (one retry)", n)
	}

	// Nothing listening over TCP: refused at once.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	s = newSpec()
	s.Name, s.Server, s.TCP = "app.test", addr, true
	r = run(t, s, 2*time.Second)
	if r.Status != check.Critical || !strings.Contains(r.Output, "connection refused") {
		t.Fatalf("got %s %q", r.Status, r.Output)
	}
}

func TestSystemResolver(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "resolv.conf")
	os.WriteFile(good, []byte("search example.org\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n"), 0o644)
	empty := filepath.Join(dir, "empty.conf")
	os.WriteFile(empty, []byte("search example.org\n"), 0o644)
	if got, err := systemResolver(good); err != nil || got != "192.0.2.53:53" {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := systemResolver(empty); err == nil || !strings.Contains(err.Error(), "lists no nameserver") {
		t.Fatal(err)
	}
	if _, err := systemResolver(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("no error")
	}
	// The checker says UNKNOWN when it has no server to ask.
	c := &checker{serverErr: os.ErrNotExist}
	if r := c.Check(context.Background()); r.Status != check.Unknown {
		t.Fatalf("%+v", r)
	}
}

func TestServerAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1":       "127.0.0.1:53",
		"127.0.0.1:5353":  "127.0.0.1:5353",
		"::1":             "[::1]:53",
		"[::1]:5353":      "[::1]:5353",
		"ns1.example.org": "ns1.example.org:53",
	} {
		if got, err := serverAddr(in); err != nil || got != want {
			t.Errorf("%s: %q %v, want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1.2.3.4:99999", ":53"} {
		if _, err := serverAddr(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*Spec)
		fields []string
	}{
		{"name required", func(s *Spec) {}, []string{"lookup"}},
		{"ok", func(s *Spec) { s.Name = "example.org" }, nil},
		{"bad type", func(s *Spec) { s.Name = "example.org"; s.RecordType = "HINFO" }, []string{"record_type"}},
		{"A expects IPv4", func(s *Spec) { s.Name = "x"; s.Expect = []string{"10.0.0.1,fd00::1", "nope"} }, []string{"expect", "expect"}},
		{"AAAA expects IPv6", func(s *Spec) { s.Name = "x"; s.RecordType = "AAAA"; s.Expect = []string{"10.0.0.1"} }, []string{"expect"}},
		{"everything wrong", func(s *Spec) {
			s.Name = "x"
			s.Server = "1.2.3.4:0"
			s.ExpectNXDomain = true
			s.Expect = []string{"10.0.0.1"}
			s.Warning, s.Critical = 3*time.Second, time.Second
		}, []string{"server", "expect_nxdomain", "warning"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSpec()
			tt.mod(s)
			var got []string
			for _, e := range s.Validate() {
				got = append(got, e.Field)
			}
			if strings.Join(got, " ") != strings.Join(tt.fields, " ") {
				t.Fatalf("fields %v, want %v (%v)", got, tt.fields, s.Validate())
			}
		})
	}
}

func TestDefaultsAndHost(t *testing.T) {
	k, ok := check.Lookup("dns")
	if !ok || k.Label != "DNS" {
		t.Fatalf("%+v", k)
	}
	s := k.New().(*Spec)
	// The seed's second table: only a response over 5 s is WARNING; no
	// answer (the timeout) is CRITICAL.
	if s.RecordType != "A" || !s.Recursion || s.Warning != 5*time.Second || s.Critical != 0 || k.Timeout != 10*time.Second {
		t.Fatalf("defaults %+v", s)
	}
	s.DefaultHost("192.0.2.10")
	if s.Server != "192.0.2.10" {
		t.Fatal(s.Server)
	}
	s.DefaultHost("192.0.2.11")
	if s.Server != "192.0.2.10" {
		t.Fatal("server overridden")
	}
}

// slowServer answers every UDP query after delay, from the socket it came
// in on, the way a loaded resolver does.
func slowServer(t *testing.T, delay time.Duration) (string, *atomic.Int32) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	var queries atomic.Int32
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			queries.Add(1)
			req := new(dns.Msg)
			if req.Unpack(buf[:n]) != nil {
				continue
			}
			go func() {
				time.Sleep(delay)
				m := new(dns.Msg)
				m.SetReply(req)
				m.Answer = []dns.RR{rr(t, req.Question[0].Name+" 60 IN A 10.0.0.7")}
				b, _ := m.Pack()
				pc.WriteTo(b, from)
			}()
		}
	}()
	return pc.LocalAddr().String(), &queries
}

// An answer that comes after more than half the timeout is still an answer:
// the check keeps listening on its socket for the whole timeout.
func TestSlowAnswerWithinTimeout(t *testing.T) {
	addr, queries := slowServer(t, 1200*time.Millisecond)
	s := newSpec()
	s.Name, s.Server = "late.test", addr
	s.Warning, s.Critical = time.Second, 0
	r := run(t, s, 2*time.Second)
	if r.Status != check.Warning || !strings.Contains(r.Output, "late.test A: 10.0.0.7") {
		t.Fatalf("got %s %q, want WARNING with the answer", r.Status, r.PluginLine())
	}
	if n := queries.Load(); n > 2 {
		t.Errorf("%d queries sent, want at most 2", n)
	}
	// The seed's defaults: a 5.5 s answer is WARNING, not CRITICAL.
	if testing.Short() {
		return
	}
	addr, _ = slowServer(t, 5500*time.Millisecond)
	k, _ := check.Lookup("dns")
	s = k.New().(*Spec)
	s.Name, s.Server = "late.test", addr
	r = run(t, s, k.Timeout)
	if r.Status != check.Warning || !strings.Contains(r.Output, "slower than 5s") {
		t.Fatalf("default thresholds: got %s %q, want WARNING", r.Status, r.PluginLine())
	}
}

// --port names the server's port (SPEC §8: dns takes --port).
func TestServerPort(t *testing.T) {
	addr, _ := startServer(t)
	host, port, _ := net.SplitHostPort(addr)
	s := newSpec()
	s.Name, s.Server = "app.test", host
	s.Port, _ = strconv.Atoi(port)
	if r := run(t, s, 3*time.Second); r.Status != check.OK {
		t.Fatalf("got %s %q", r.Status, r.PluginLine())
	}
	s.Server = addr
	if errs := s.Validate(); len(errs) != 1 || errs[0].Field != "port" {
		t.Fatalf("server with a port and port: %v", errs)
	}
}
