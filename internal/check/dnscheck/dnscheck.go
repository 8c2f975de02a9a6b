// Package dnscheck implements the dns check type: one query for a name and
// record type against a chosen server (or the system resolver), graded by the
// response code, the presence of expected values and the response time.
package dnscheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/mamori/mamori/internal/check"
)

// Defaults from the seed's second service table (hosting plan, Core i5 /
// Xeon rows): "DNS(53) WARNING: the response time of the forward lookup
// is over 5 s; CRITICAL: no answer from the DNS server". So a slow answer
// is only WARNING (no response-time CRITICAL), and "no answer" is the
// timeout, 10 s like the seed's other "no answer" rules (SMTP, HTTP).
const (
	defaultWarning  = 5 * time.Second
	defaultCritical = 0
	defaultTimeout  = 10 * time.Second
	resolvConf      = "/etc/resolv.conf"
)

func init() {
	check.Register(&check.Kind{
		Name:    "dns",
		Label:   "DNS",
		Summary: "DNS query: the answer for a name and record type, expected values, response time",
		Scope:   check.ScopeServer,
		Timeout: defaultTimeout,
		New:     func() check.Spec { return newSpec() },
	})
}

// Spec is the configuration of a dns check.
type Spec struct {
	Name           string        `yaml:"lookup" flag:"name" required:"true" help:"name to look up (--name on the command line)"`
	RecordType     string        `yaml:"record_type" help:"record type: A, AAAA, CNAME, MX, TXT, NS, SOA, PTR, SRV or CAA"`
	Server         string        `yaml:"server" help:"server to ask, host or host:port (default: the first nameserver in /etc/resolv.conf)"`
	Port           int           `yaml:"port" help:"the server's port (default 53, or the port in server)"`
	Expect         []string      `yaml:"expect" help:"values that must all be in the answer (IPs for A/AAAA, \"10 mail.example.\" or the host for MX, the text for TXT)"`
	ExpectNXDomain bool          `yaml:"expect_nxdomain" help:"the name must NOT exist: NXDOMAIN is OK and an answer CRITICAL"`
	TCP            bool          `yaml:"tcp" help:"query over TCP instead of UDP"`
	Recursion      bool          `yaml:"recursion" help:"ask for recursion (RD flag)"`
	Warning        time.Duration `yaml:"warning" help:"response time for WARNING"`
	Critical       time.Duration `yaml:"critical" help:"response time for CRITICAL"`
}

func newSpec() *Spec {
	return &Spec{RecordType: "A", Recursion: true, Warning: defaultWarning, Critical: defaultCritical}
}

// DefaultHost makes a dns check under a host ask that host when server is empty.
func (s *Spec) DefaultHost(address string) {
	if s.Server == "" {
		s.Server = address
	}
}

var supportedTypes = map[string]uint16{
	"A": dns.TypeA, "AAAA": dns.TypeAAAA, "CNAME": dns.TypeCNAME, "MX": dns.TypeMX,
	"TXT": dns.TypeTXT, "NS": dns.TypeNS, "SOA": dns.TypeSOA, "PTR": dns.TypePTR,
	"SRV": dns.TypeSRV, "CAA": dns.TypeCAA,
}

// serverAddr turns "host", "host:port", "v6", "[v6]:port" into host:port (port 53 by default).
func serverAddr(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("empty server")
	}
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("bad port %q", p)
		}
		if h == "" {
			return "", fmt.Errorf("%q has no host", s)
		}
		return s, nil
	}
	return net.JoinHostPort(strings.Trim(s, "[]"), "53"), nil
}

// hasPort reports whether a server text names a port ("host:53", "[v6]:53").
func hasPort(s string) bool {
	_, _, err := net.SplitHostPort(strings.TrimSpace(s))
	return err == nil
}

func normExpect(items []string) []string {
	var out []string
	for _, it := range items {
		for _, v := range strings.Split(it, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// Validate reports every problem with the spec.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	if strings.TrimSpace(s.Name) == "" {
		errs = append(errs, check.Errf("lookup", "required"))
	} else if _, ok := dns.IsDomainName(s.Name); !ok {
		errs = append(errs, check.Errf("lookup", "%q is not a domain name", s.Name))
	}
	qt, ok := supportedTypes[strings.ToUpper(s.RecordType)]
	if !ok {
		errs = append(errs, check.Errf("record_type", "%q is not one of A, AAAA, CNAME, MX, TXT, NS, SOA, PTR, SRV, CAA", s.RecordType))
	}
	if s.Server != "" {
		if _, err := serverAddr(s.Server); err != nil {
			errs = append(errs, check.Errf("server", "%v", err))
		}
	}
	if s.Port < 0 || s.Port > 65535 {
		errs = append(errs, check.Errf("port", "must be between 1 and 65535, not %d", s.Port))
	} else if s.Port > 0 && hasPort(s.Server) {
		errs = append(errs, check.Errf("port", "the server %q names its port already", s.Server))
	}
	exp := normExpect(s.Expect)
	if ok && (qt == dns.TypeA || qt == dns.TypeAAAA) {
		for _, e := range exp {
			ip, err := netip.ParseAddr(e)
			switch {
			case err != nil:
				errs = append(errs, check.Errf("expect", "%q is not an IP address", e))
			case qt == dns.TypeA && !ip.Unmap().Is4():
				errs = append(errs, check.Errf("expect", "%q is not an IPv4 address (record_type A)", e))
			case qt == dns.TypeAAAA && !ip.Is6():
				errs = append(errs, check.Errf("expect", "%q is not an IPv6 address (record_type AAAA)", e))
			}
		}
	}
	if s.ExpectNXDomain && len(exp) > 0 {
		errs = append(errs, check.Errf("expect_nxdomain", "cannot be combined with expect"))
	}
	if s.Warning < 0 {
		errs = append(errs, check.Errf("warning", "must not be negative"))
	}
	if s.Critical < 0 {
		errs = append(errs, check.Errf("critical", "must not be negative"))
	}
	if s.Warning > 0 && s.Critical > 0 && s.Warning > s.Critical {
		errs = append(errs, check.Errf("warning", "%s is greater than critical %s", s.Warning, s.Critical))
	}
	return errs
}

// New builds the checker. With no server it reads /etc/resolv.conf once here.
func (s *Spec) New(check.Env) (check.Checker, error) {
	qt, ok := supportedTypes[strings.ToUpper(s.RecordType)]
	if !ok {
		return nil, fmt.Errorf("record_type %q is not supported", s.RecordType)
	}
	name := strings.TrimSpace(s.Name)
	if ip := net.ParseIP(name); ip != nil && qt == dns.TypePTR {
		name, _ = dns.ReverseAddr(name) // "192.0.2.1" → "1.2.0.192.in-addr.arpa."
	}
	c := &checker{spec: *s, qtype: qt, qname: dns.Fqdn(name)}
	c.typeName = dns.TypeToString[qt]
	if s.Server != "" {
		addr, err := serverAddr(s.Server)
		if err != nil {
			return nil, err
		}
		c.server = addr
	} else {
		c.server, c.serverErr = systemResolver(resolvConf)
	}
	if s.Port > 0 && c.serverErr == nil {
		host, _, _ := net.SplitHostPort(c.server)
		c.server = net.JoinHostPort(host, strconv.Itoa(s.Port))
	}
	for _, e := range normExpect(s.Expect) {
		c.expect = append(c.expect, newExpectation(qt, e))
	}
	return c, nil
}

func systemResolver(file string) (string, error) {
	cc, err := dns.ClientConfigFromFile(file)
	if err != nil {
		return "", fmt.Errorf("no server given and the system resolver is unknown: %v", err)
	}
	if len(cc.Servers) == 0 {
		return "", fmt.Errorf("no server given and %s lists no nameserver", file)
	}
	port := cc.Port
	if port == "" {
		port = "53"
	}
	return net.JoinHostPort(cc.Servers[0], port), nil
}

type checker struct {
	spec      Spec
	qtype     uint16
	qname     string
	typeName  string
	server    string
	serverErr error
	expect    []expectation
}

// Check sends one query (over UDP sent again once on the same socket if no
// answer came in half the time, and over TCP when the UDP answer is
// truncated).
func (c *checker) Check(ctx context.Context) check.Result {
	if c.serverErr != nil {
		return check.Resultf(check.Unknown, "%v", c.serverErr)
	}
	start := time.Now()
	m := new(dns.Msg)
	m.SetQuestion(c.qname, c.qtype)
	m.RecursionDesired = c.spec.Recursion
	m.SetEdns0(1232, false)

	resp, err := c.exchange(ctx, m)
	elapsed := time.Since(start)
	perf := check.Seconds("time", elapsed, c.spec.Warning, c.spec.Critical)
	if err != nil {
		return check.Resultf(check.Critical, "%s %s @%s: %s", c.name(), c.typeName, c.server, c.errText(ctx, start, err)).With(perf)
	}
	r := c.grade(resp, elapsed)
	return r.With(perf)
}

func (c *checker) name() string { return strings.TrimSuffix(c.qname, ".") }

func (c *checker) exchange(ctx context.Context, m *dns.Msg) (*dns.Msg, error) {
	// The context bounds every try; Client.Timeout only must not be shorter.
	cl := dns.Client{Net: "udp", Timeout: time.Hour}
	if c.spec.TCP {
		cl.Net = "tcp"
		resp, _, err := cl.ExchangeContext(ctx, m, c.server)
		return resp, err
	}
	resp, err := c.exchangeUDP(ctx, &cl, m)
	if err == nil && resp.Truncated {
		cl.Net = "tcp"
		resp, _, err = cl.ExchangeContext(ctx, m, c.server)
	}
	return resp, err
}

// exchangeUDP sends the query on one socket and listens on it for the whole
// time the context allows: a slow answer is an answer. The query is sent
// once more at half the time left, on the same socket, in case the first
// datagram was lost; an answer to either counts.
func (c *checker) exchangeUDP(ctx context.Context, cl *dns.Client, m *dns.Msg) (*dns.Msg, error) {
	conn, err := cl.DialContext(ctx, c.server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := conn.WriteMsg(m); err != nil {
		return nil, err
	}
	dl, hasDL := ctx.Deadline()
	var retry time.Time
	if hasDL {
		retry = time.Now().Add(time.Until(dl) / 2)
	}
	for {
		wait := dl
		if !retry.IsZero() {
			wait = retry
		}
		conn.SetReadDeadline(wait)
		resp, err := conn.ReadMsg()
		if err == nil {
			if resp.Id == m.Id && sameQuestion(resp, m) {
				return resp, nil
			}
			continue // a stray answer: keep listening
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if isTimeout(err) {
			if retry.IsZero() {
				return nil, err
			}
			retry = time.Time{}
			if err := conn.WriteMsg(m); err != nil {
				return nil, err
			}
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) {
			return nil, err // e.g. connection refused (ICMP port unreachable)
		}
		// An unparsable datagram: keep listening.
	}
}

func sameQuestion(resp, m *dns.Msg) bool {
	if len(resp.Question) == 0 {
		return resp.Rcode != dns.RcodeSuccess // some servers drop the question on errors
	}
	q, a := m.Question[0], resp.Question[0]
	return q.Qtype == a.Qtype && q.Qclass == a.Qclass && strings.EqualFold(q.Name, a.Name)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
}

func (c *checker) errText(ctx context.Context, start time.Time, err error) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || isTimeout(err) {
		if dl, ok := ctx.Deadline(); ok {
			return fmt.Sprintf("no answer within %s", dl.Sub(start).Round(time.Millisecond))
		}
		return "no answer in time"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		var se *os.SyscallError
		if errors.As(oe.Err, &se) {
			return se.Err.Error()
		}
		return oe.Err.Error()
	}
	return check.ErrText(ctx, err)
}

// grade turns an answer into a result (perfdata added by the caller).
func (c *checker) grade(resp *dns.Msg, elapsed time.Duration) check.Result {
	secs := strconv.FormatFloat(elapsed.Seconds(), 'f', 3, 64)
	q := fmt.Sprintf("%s %s", c.name(), c.typeName)
	switch resp.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		if c.spec.ExpectNXDomain {
			return c.timed(check.OK, elapsed, "%s: NXDOMAIN as expected in %s s", q, secs)
		}
		return check.Resultf(check.Critical, "%s: NXDOMAIN for a name that must exist (%s s)", q, secs)
	default:
		return check.Resultf(check.Critical, "%s: server %s answered %s", q, c.server, dns.RcodeToString[resp.Rcode])
	}
	// The records of the asked type (a CNAME chain to them is followed by the server).
	var vals []string
	var rrs []dns.RR
	for _, rr := range resp.Answer {
		if rr.Header().Rrtype == c.qtype {
			rrs = append(rrs, rr)
			vals = append(vals, rrValue(rr))
		}
	}
	if c.spec.ExpectNXDomain {
		if len(rrs) > 0 {
			return check.Resultf(check.Critical, "%s: the name must not exist but it answers %s", q, strings.Join(vals, ", "))
		}
		return check.Resultf(check.Critical, "%s: the name must not exist but the server says it does (NOERROR)", q)
	}
	if len(rrs) == 0 {
		// NODATA: the name exists but cannot be resolved to the asked type.
		// The seed's DNS rows call that CRITICAL, as check_dig does.
		return c.timed(check.Critical, elapsed, "%s: no %s record in the answer (%s s)", q, c.typeName, secs)
	}
	var missing []string
	for _, e := range c.expect {
		if !e.in(rrs) {
			missing = append(missing, e.text)
		}
	}
	answer := strings.Join(vals, ", ")
	if len(missing) > 0 {
		return check.Resultf(check.Critical, "%s: expected %s not in the answer (%s)", q, strings.Join(missing, ", "), answer)
	}
	return c.timed(check.OK, elapsed, "%s: %s in %s s", q, answer, secs)
}

// timed grades by response time on top of st.
func (c *checker) timed(st check.Status, elapsed time.Duration, format string, args ...any) check.Result {
	ts := check.ByDuration(elapsed, c.spec.Warning, c.spec.Critical)
	r := check.Resultf(check.Worst(st, ts), format, args...)
	if ts != check.OK {
		limit := c.spec.Warning
		if ts == check.Critical {
			limit = c.spec.Critical
		}
		r.Output = check.OneLine(r.Output + ", slower than " + limit.String())
	}
	return r
}

// rrValue is the record's data as dig +short prints it.
func rrValue(rr dns.RR) string {
	switch v := rr.(type) {
	case *dns.A:
		return v.A.String()
	case *dns.AAAA:
		return v.AAAA.String()
	case *dns.TXT:
		return strings.Join(v.Txt, "")
	}
	h := rr.Header().String()
	return strings.TrimSpace(strings.TrimPrefix(rr.String(), h))
}

// expectation is one expected value, compared the way its type needs.
type expectation struct {
	text string
	ip   netip.Addr // A, AAAA
	full string     // normalized full rdata, e.g. "10 mail.example."
	host string     // the target name alone (MX, SRV, CNAME, NS, PTR, SOA mname)
}

func newExpectation(qt uint16, text string) expectation {
	e := expectation{text: text}
	switch qt {
	case dns.TypeA, dns.TypeAAAA:
		e.ip, _ = netip.ParseAddr(text)
		e.ip = e.ip.Unmap()
	case dns.TypeTXT:
		e.full = strings.Trim(text, `"`)
	default:
		e.full = normFields(text)
		if !strings.Contains(strings.TrimSpace(text), " ") {
			e.host = fqdnLower(text)
		}
	}
	return e
}

func fqdnLower(s string) string { return strings.ToLower(dns.Fqdn(strings.TrimSpace(s))) }

// normFields lowers the text and makes every name-like field absolute so that
// "10 mail.example" matches "10 mail.example.".
func normFields(s string) string {
	f := strings.Fields(strings.ToLower(s))
	for i, x := range f {
		if strings.Contains(x, ".") && !strings.HasPrefix(x, `"`) && net.ParseIP(x) == nil {
			if _, err := strconv.ParseFloat(x, 64); err != nil {
				f[i] = dns.Fqdn(x)
			}
		}
	}
	return strings.Join(f, " ")
}

func (e expectation) in(rrs []dns.RR) bool {
	for _, rr := range rrs {
		switch v := rr.(type) {
		case *dns.A:
			if ip, ok := netip.AddrFromSlice(v.A); ok && ip.Unmap() == e.ip {
				return true
			}
		case *dns.AAAA:
			if ip, ok := netip.AddrFromSlice(v.AAAA); ok && ip == e.ip {
				return true
			}
		case *dns.TXT:
			if strings.Join(v.Txt, "") == e.full || strings.Join(v.Txt, " ") == e.full {
				return true
			}
		default:
			if normFields(rrValue(rr)) == e.full || (e.host != "" && strings.ToLower(rrTarget(rr)) == e.host) {
				return true
			}
		}
	}
	return false
}

// rrTarget is the host name a record points to.
func rrTarget(rr dns.RR) string {
	switch v := rr.(type) {
	case *dns.MX:
		return v.Mx
	case *dns.CNAME:
		return v.Target
	case *dns.NS:
		return v.Ns
	case *dns.PTR:
		return v.Ptr
	case *dns.SRV:
		return v.Target
	case *dns.SOA:
		return v.Ns
	case *dns.CAA:
		return v.Value + "."
	}
	return ""
}
