// Package httpcheck implements the http and https check types: one request
// (any method, headers, body) graded by status code, body content, response
// time and, over TLS, the certificate's validity and days left — the
// behaviour of Monitoring Plugins' check_http.
//
// CPU per run matters (docs/performance.md): the http.Client and regular
// expression are built once in New, never per run, and checks share one
// transport per connection mode, HTTP version and TLS configuration
// (transport.go). The transport is our own HTTP/1.x client (http1.go):
// it dials, writes and reads on the run's goroutine, where http.Transport
// hands each request and response between three goroutines. By default
// every run opens a fresh connection, as check_http does and as a new
// client sees the service; `keepalive: true` reuses an idle connection to
// the same server instead.
package httpcheck

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// Response time defaults from the seed's service tables (hosting plan):
// the second table's HTTP/HTTPS rows make a response over 5 s WARNING; the
// first table's make no answer within 10 s CRITICAL.
const (
	defaultWarning      = 5 * time.Second
	defaultCritical     = 10 * time.Second
	defaultMaxRedirects = 10
	defaultMaxBody      = 1 << 20
	defaultWarningDays  = 30
	defaultCriticalDays = 7
)

func init() {
	check.Register(&check.Kind{
		Name:    "http",
		Label:   "HTTP",
		Summary: "HTTP request: status, body content, response time (like check_http)",
		Scope:   check.ScopeServer,
		Timeout: 10 * time.Second,
		Inline:  true, // h1Transport bounds dial, handshake, reads and writes by the run's context
		New:     func() check.Spec { return newSpec(false) },
	})
	check.Register(&check.Kind{
		Name:    "https",
		Label:   "HTTP",
		Summary: "HTTPS request: as http over TLS, plus certificate validity and days left",
		Scope:   check.ScopeServer,
		Timeout: 10 * time.Second,
		Inline:  true, // h1Transport bounds dial, handshake, reads and writes by the run's context
		New:     func() check.Spec { return newSpec(true) },
	})
}

// Spec is the configuration of an http or https check.
type Spec struct {
	URL                string            `yaml:"url" help:"URL to request (required unless host is given)"`
	Host               string            `yaml:"host" help:"host to request when url is empty: http(s)://HOST[:PORT]/"`
	Port               int               `yaml:"port" help:"port used with host (default: 80 for http, 443 for https)"`
	Method             string            `yaml:"method" help:"HTTP method"`
	Headers            map[string]string `yaml:"headers" help:"request headers (Host sets the virtual host)"`
	Body               string            `yaml:"body" help:"request body"`
	ExpectStatus       []string          `yaml:"expect_status" help:"accepted status codes: 200, 2xx or 200-299, a list or comma separated (default: <400 OK, 4xx WARNING, 5xx CRITICAL)"`
	ExpectBody         string            `yaml:"expect_body" help:"substring the body must contain"`
	ExpectRegex        string            `yaml:"expect_regex" help:"regular expression the body must match"`
	InvertBody         bool              `yaml:"invert_body" help:"CRITICAL when expect_body/expect_regex match instead of when they do not"`
	Warning            time.Duration     `yaml:"warning" help:"response time for WARNING"`
	Critical           time.Duration     `yaml:"critical" help:"response time for CRITICAL"`
	FollowRedirects    bool              `yaml:"follow_redirects" help:"follow redirects (else a 3xx answer is graded itself)"`
	MaxRedirects       int               `yaml:"max_redirects" help:"most redirects followed; more is WARNING"`
	BasicAuthUser      string            `yaml:"basic_auth_user" help:"user for HTTP basic authentication"`
	BasicAuthPassword  check.Secret      `yaml:"basic_auth_password" help:"password for HTTP basic authentication (${ENV} or file:PATH)"`
	WarningDays        int               `yaml:"warning_days" help:"TLS certificate: WARNING when it expires within this many days (0: off)"`
	CriticalDays       int               `yaml:"critical_days" help:"TLS certificate: CRITICAL when it expires within this many days (0: off)"`
	CAFile             string            `yaml:"ca_file" help:"PEM file of CA certificates to trust instead of the system's"`
	InsecureSkipVerify bool              `yaml:"insecure_skip_verify" help:"do not verify the server's certificate chain and name (expiry is still graded)"`
	ServerName         string            `yaml:"server_name" help:"TLS server name (SNI and verification) if not the URL's host"`
	Keepalive          bool              `yaml:"keepalive" help:"reuse the connection between runs (default: a fresh connection per run, like check_http)"`
	MaxBody            int               `yaml:"max_body" help:"most body bytes read for matching"`
	HTTPVersion        string            `yaml:"http_version" help:"request line version: 1.1, or 1.0 to send \"GET / HTTP/1.0\" as the seed's HTTP rules do"`
	AlsoHTTP           bool              `yaml:"also_http" help:"https only: also request the same path over plain http on http_port, graded the same way; both must answer (the seed's HTTPS rule: ports 80 and 443)"`
	HTTPPort           int               `yaml:"http_port" help:"port of the also_http request"`

	https bool
}

func newSpec(https bool) *Spec {
	s := &Spec{
		Method:       http.MethodGet,
		Warning:      defaultWarning,
		Critical:     defaultCritical,
		MaxRedirects: defaultMaxRedirects,
		MaxBody:      defaultMaxBody,
		HTTPPort:     80,
		https:        https,
	}
	if https {
		s.WarningDays, s.CriticalDays = defaultWarningDays, defaultCriticalDays
	}
	return s
}

func (s *Spec) scheme() string {
	if s.https {
		return "https"
	}
	return "http"
}

// DefaultHost takes the host's address as the target when neither url nor host is set.
func (s *Spec) DefaultHost(address string) {
	if s.URL == "" && s.Host == "" {
		s.Host = address
	}
}

// target is the URL a run requests.
func (s *Spec) target() (*url.URL, error) {
	raw := strings.TrimSpace(s.URL)
	if raw == "" {
		if s.Host == "" {
			return nil, errors.New("url or host is required")
		}
		host := s.Host
		if s.Port > 0 {
			host = net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(s.Port))
		} else if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
			host = "[" + host + "]" // a bare IPv6 address
		}
		raw = s.scheme() + "://" + host + "/"
	} else if !strings.Contains(raw, "://") {
		raw = s.scheme() + "://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "http":
		if s.https {
			return nil, fmt.Errorf("an https check needs an https:// URL, not %q", raw)
		}
	case "https":
	default:
		return nil, fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q has no host", raw)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

// Validate reports every problem with the spec.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	if _, err := s.target(); err != nil {
		field := "url"
		if s.URL == "" && s.Host == "" {
			errs = append(errs, check.Errf("url", "required (or give host)"))
		} else {
			errs = append(errs, check.Errf(field, "%v", err))
		}
	}
	if s.Port < 0 || s.Port > 65535 {
		errs = append(errs, check.Errf("port", "%d is not a port (1..65535)", s.Port))
	}
	if s.Method == "" || strings.ContainsAny(s.Method, " \t\r\n") {
		errs = append(errs, check.Errf("method", "%q is not an HTTP method", s.Method))
	}
	for k := range s.Headers {
		if k == "" || strings.ContainsAny(k, " \t\r\n:") {
			errs = append(errs, check.Errf("headers", "%q is not a header name", k))
		}
	}
	if _, err := parseStatusSet(s.ExpectStatus); err != nil {
		errs = append(errs, check.Errf("expect_status", "%v", err))
	}
	if s.ExpectRegex != "" {
		if _, err := regexp.Compile(s.ExpectRegex); err != nil {
			errs = append(errs, check.Errf("expect_regex", "%v", err))
		}
	}
	if s.InvertBody && s.ExpectBody == "" && s.ExpectRegex == "" {
		errs = append(errs, check.Errf("invert_body", "needs expect_body or expect_regex"))
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
	if s.MaxRedirects < 0 {
		errs = append(errs, check.Errf("max_redirects", "must not be negative"))
	}
	if s.WarningDays < 0 {
		errs = append(errs, check.Errf("warning_days", "must not be negative"))
	}
	if s.CriticalDays < 0 {
		errs = append(errs, check.Errf("critical_days", "must not be negative"))
	}
	if s.BasicAuthUser == "" && !s.BasicAuthPassword.IsZero() {
		errs = append(errs, check.Errf("basic_auth_user", "required with basic_auth_password"))
	}
	if s.CAFile != "" {
		if _, err := loadPool(s.CAFile); err != nil {
			errs = append(errs, check.Errf("ca_file", "%v", err))
		}
	}
	if s.MaxBody <= 0 {
		errs = append(errs, check.Errf("max_body", "must be positive"))
	}
	return append(errs, s.validateSeedModes()...)
}

func loadPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// New builds the checker: its transport, client and regexp are made here once.
func (s *Spec) New(check.Env) (check.Checker, error) {
	u, err := s.target()
	if err != nil {
		return nil, err
	}
	codes, err := parseStatusSet(s.ExpectStatus)
	if err != nil {
		return nil, err
	}
	c := &checker{
		spec:   *s,
		url:    u,
		rawURL: u.String(),
		codes:  codes,
		user:   s.BasicAuthUser,
		pass:   s.BasicAuthPassword.Reveal(),
		header: make(http.Header, len(s.Headers)),
	}
	if s.ExpectBody != "" {
		c.want = []byte(s.ExpectBody)
	}
	for k, v := range s.Headers {
		if strings.EqualFold(k, "Host") {
			c.vhost = v
			continue
		}
		c.header.Set(k, v)
	}
	if s.ExpectRegex != "" {
		if c.re, err = regexp.Compile(s.ExpectRegex); err != nil {
			return nil, err
		}
	}
	if c.transport, err = sharedTransport(s); err != nil {
		return nil, err
	}
	c.client = &http.Client{
		Transport:     c.transport,
		CheckRedirect: c.checkRedirect,
	}
	if s.AlsoHTTP {
		return s.withPlain(c)
	}
	return c, nil
}

type checker struct {
	spec      Spec
	url       *url.URL
	rawURL    string
	codes     statusSet
	want      []byte
	re        *regexp.Regexp
	user      string
	pass      string
	header    http.Header
	vhost     string
	transport *h1Transport
	client    *http.Client
}

// errTooManyRedirects ends a redirect chain longer than max_redirects.
type errTooManyRedirects struct{ max int }

func (e errTooManyRedirects) Error() string {
	return fmt.Sprintf("more than %d redirects", e.max)
}

func (c *checker) checkRedirect(req *http.Request, via []*http.Request) error {
	if !c.spec.FollowRedirects {
		return http.ErrUseLastResponse
	}
	if len(via) > c.spec.MaxRedirects {
		return errTooManyRedirects{c.spec.MaxRedirects}
	}
	// Go drops Authorization when the host changes; keep our headers otherwise.
	return nil
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Check runs one request.
func (c *checker) Check(ctx context.Context) check.Result {
	start := time.Now()
	req, err := c.newRequest(ctx)
	if err != nil {
		return check.Resultf(check.Unknown, "cannot build request: %v", err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return c.requestFailed(ctx, start, err)
	}
	defer resp.Body.Close()
	buf, size, err := c.readBody(resp)
	if buf != nil {
		defer func() {
			if buf.Cap() <= 4*defaultMaxBody {
				bufPool.Put(buf)
			}
		}()
	}
	elapsed := time.Since(start)
	if err != nil {
		return check.Resultf(check.Critical, "%d, reading the body failed after %s: %s",
			resp.StatusCode, fmtSecs(elapsed), c.errText(ctx, start, err)).With(c.perf(elapsed, size)...)
	}
	if resp.ContentLength > size {
		size = resp.ContentLength
	}
	st, why := c.grade(resp, buf, elapsed)
	out := fmt.Sprintf("%d in %s s", resp.StatusCode, fmtSecs(elapsed))
	if resp.Request != nil && resp.Request != req && resp.Request.URL != nil {
		out += " from " + resp.Request.URL.String() + " (after redirects)"
	}
	if len(why) > 0 {
		out += ", " + strings.Join(why, ", ")
	}
	return check.Resultf(st, "%s", out).With(c.perf(elapsed, size)...)
}

// newRequest builds the request with the check's headers, virtual host
// and credentials.
func (c *checker) newRequest(ctx context.Context) (*http.Request, error) {
	var body io.Reader
	if c.spec.Body != "" {
		body = strings.NewReader(c.spec.Body)
	}
	req, err := http.NewRequestWithContext(ctx, c.spec.Method, c.rawURL, body)
	if err != nil {
		return nil, err
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if c.vhost != "" {
		req.Host = c.vhost
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header["User-Agent"] = userAgent
	}
	return req, nil
}

// readBody reads at most max_body bytes: into a pooled buffer when the body
// is matched (the caller returns it to the pool), else only to count them.
func (c *checker) readBody(resp *http.Response) (*bytes.Buffer, int64, error) {
	lr := io.LimitReader(resp.Body, int64(c.spec.MaxBody))
	if c.want == nil && c.re == nil {
		size, err := io.Copy(io.Discard, lr)
		return nil, size, err
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	size, err := buf.ReadFrom(lr)
	return buf, size, err
}

// grade decides the state from the status code, the body, the response
// time and the certificate, with the reasons for anything not OK.
func (c *checker) grade(resp *http.Response, buf *bytes.Buffer, elapsed time.Duration) (check.Status, []string) {
	st := check.OK
	var why []string
	switch {
	case len(c.codes) > 0:
		if !c.codes.has(resp.StatusCode) {
			st = check.Critical
			why = append(why, fmt.Sprintf("status %d is not in %s", resp.StatusCode, strings.Join(c.spec.ExpectStatus, ",")))
		}
	case resp.StatusCode >= 500:
		st = check.Critical
	case resp.StatusCode >= 400:
		st = check.Warning
	}
	if buf != nil {
		if bad := c.bodyProblems(buf.Bytes()); len(bad) > 0 {
			st, why = check.Worst(st, check.Critical), append(why, bad...)
		}
	}
	if ts := check.ByDuration(elapsed, c.spec.Warning, c.spec.Critical); ts != check.OK {
		st = check.Worst(st, ts)
		limit := c.spec.Warning
		if ts == check.Critical {
			limit = c.spec.Critical
		}
		why = append(why, fmt.Sprintf("slower than %s", limit))
	}
	// Certificate days left (verification itself already passed).
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 && (c.spec.WarningDays > 0 || c.spec.CriticalDays > 0 || c.spec.InsecureSkipVerify) {
		cs, text, _ := check.CertExpiry(resp.TLS.PeerCertificates[0], time.Now(), c.spec.WarningDays, c.spec.CriticalDays)
		if cs != check.OK {
			st = check.Worst(st, cs)
			why = append(why, text)
		}
	}
	return st, why
}

// bodyProblems says how the body fails expect_body / expect_regex (with
// invert_body); nil when it passes.
func (c *checker) bodyProblems(b []byte) []string {
	var why []string
	if c.want != nil {
		if found := bytes.Contains(b, c.want); found == c.spec.InvertBody {
			if found {
				why = append(why, fmt.Sprintf("'%s' found in body", c.spec.ExpectBody))
			} else {
				why = append(why, fmt.Sprintf("'%s' not found in body", c.spec.ExpectBody))
			}
		}
	}
	if c.re != nil {
		if found := c.re.Match(b); found == c.spec.InvertBody {
			if found {
				why = append(why, fmt.Sprintf("body matches /%s/", c.spec.ExpectRegex))
			} else {
				why = append(why, fmt.Sprintf("body does not match /%s/", c.spec.ExpectRegex))
			}
		}
	}
	return why
}

// userAgent is shared by every request (never mutated).
var userAgent = []string{"mamori-http-check"}

func (c *checker) perf(elapsed time.Duration, size int64) []check.Metric {
	sz := check.M("size", float64(size), "B")
	sz.Min = 0
	return []check.Metric{check.Seconds("time", elapsed, c.spec.Warning, c.spec.Critical), sz}
}

// fmtSecs prints seconds with millisecond precision, as check_http does.
func fmtSecs(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

// requestFailed turns a transport error into a result: CRITICAL for an
// unreachable or invalid service, WARNING for a redirect chain too long (as
// check_http does).
func (c *checker) requestFailed(ctx context.Context, start time.Time, err error) check.Result {
	elapsed := time.Since(start)
	perf := []check.Metric{check.Seconds("time", elapsed, c.spec.Warning, c.spec.Critical)}
	var tooMany errTooManyRedirects
	if errors.As(err, &tooMany) {
		return check.Resultf(check.Warning, "%s %s: %v", c.spec.Method, c.rawURL, tooMany).With(perf...)
	}
	// An invalid certificate: say why, in CertExpiry's words when it is the dates.
	var verr *tls.CertificateVerificationError
	if errors.As(err, &verr) {
		var inv x509.CertificateInvalidError
		if errors.As(verr.Err, &inv) && inv.Reason == x509.Expired && len(verr.UnverifiedCertificates) > 0 {
			_, text, _ := check.CertExpiry(verr.UnverifiedCertificates[0], time.Now(), 0, 0)
			return check.Resultf(check.Critical, "invalid certificate: %s", text).With(perf...)
		}
		return check.Resultf(check.Critical, "invalid certificate: %s", certReason(verr.Err)).With(perf...)
	}
	return check.Resultf(check.Critical, "%s %s: %s", c.spec.Method, c.rawURL, c.errText(ctx, start, err)).With(perf...)
}

func certReason(err error) string {
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) {
		name := ""
		if ua.Cert != nil {
			name = ua.Cert.Subject.CommonName
		}
		if name != "" {
			return fmt.Sprintf("certificate '%s' is signed by an unknown authority", name)
		}
		return "certificate signed by an unknown authority"
	}
	var he x509.HostnameError
	if errors.As(err, &he) {
		return he.Error()
	}
	return strings.TrimPrefix(err.Error(), "x509: ")
}

// errText describes a transport error without Go's wrapping noise.
func (c *checker) errText(ctx context.Context, start time.Time, err error) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		if dl, ok := ctx.Deadline(); ok {
			return fmt.Sprintf("no answer within %s", dl.Sub(start).Round(time.Millisecond))
		}
		return "no answer in time"
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return "connection refused"
	}
	if errors.Is(err, syscall.ECONNRESET) {
		return "connection reset by peer"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Op + ": " + oe.Err.Error()
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "server closed the connection without an answer"
	}
	return check.ErrText(ctx, err)
}
