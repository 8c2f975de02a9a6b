package sqlcheck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/fieldset"
)

// fakeDriver is a driver whose DSN is "user:password@anything" and whose
// connection answers from a table, so the shared logic runs without a server.
type fakeConn struct {
	val     string
	isNull  bool
	err     error
	delay   time.Duration
	closed  *bool
	queries *[]string
}

func (f *fakeConn) FirstValue(ctx context.Context, q string) (string, bool, error) {
	if f.queries != nil {
		*f.queries = append(*f.queries, q)
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return "", false, ctx.Err()
		}
	}
	return f.val, f.isNull, f.err
}

func (f *fakeConn) Close() error {
	if f.closed != nil {
		*f.closed = true
	}
	return nil
}

func fakeDriver(conn *fakeConn, connErr error) *Driver {
	return &Driver{
		Name: "fake", Label: "FAKE", DefaultPort: 9999,
		TLSModes: []string{"on", "off"},
		BuildDSN: func(f Fields) string {
			return fmt.Sprintf("%s:%s@%s:%d/%s?tls=%s", f.User, f.Password, f.Host, f.Port, f.Database, f.TLS)
		},
		Parse: func(dsn string) (string, string, error) {
			userinfo, _, ok := strings.Cut(dsn, "@")
			if !ok {
				return "", "", errors.New("no @ in " + dsn) // echoes the DSN, as some drivers do
			}
			u, p, _ := strings.Cut(userinfo, ":")
			return u, p, nil
		},
		Connect: func(ctx context.Context, dsn string, dial DialFunc, _ *slog.Logger) (Conn, error) {
			if connErr != nil {
				// A careless driver: its error repeats the DSN and the
				// password, URL-escaped.
				_, pw, _ := strings.Cut(strings.SplitN(dsn, "@", 2)[0], ":")
				return nil, fmt.Errorf("connecting with %s (password %s): %w", dsn, url.QueryEscape(pw), connErr)
			}
			return conn, nil
		},
		Classify: func(err error, user string) (string, bool) {
			if strings.Contains(err.Error(), "badauth") {
				return fmt.Sprintf("authentication failed for user %q", user), true
			}
			if strings.Contains(err.Error(), "SQLERR") {
				return "ERROR: relation \"nope\" does not exist", true
			}
			return "", false
		},
	}
}

func newChecker(t *testing.T, d *Driver, set func(s *Spec)) check.Checker {
	t.Helper()
	s := NewSpec(d)
	s.Host = "db.example"
	s.User = "mon"
	s.Password = check.NewSecret("s3cr/et pw")
	if set != nil {
		set(s)
	}
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("Validate: %v", errs)
	}
	c, err := s.New(check.Env{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func run(t *testing.T, d *Driver, c check.Checker, timeout time.Duration) check.Result {
	t.Helper()
	return check.Run(context.Background(), Kind(d), c, timeout)
}

func mustRange(t *testing.T, s string) check.Range {
	t.Helper()
	r, err := check.ParseRange(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestGrade(t *testing.T) {
	long := strings.Repeat("x", 5000)
	tests := []struct {
		name       string
		val        string
		null       bool
		elapsed    time.Duration
		expect     string
		warn, crit string
		want       check.Status
		out        []string // substrings of the output
		notOut     []string
		valuePerf  bool
	}{
		{name: "plain number", val: "1", want: check.OK, out: []string{"'SELECT 1' returned 1 in 0.004 s"}, valuePerf: true},
		{name: "plain text", val: "hello", want: check.OK, out: []string{"returned 'hello' in"}},
		{name: "null", null: true, want: check.OK, out: []string{"returned NULL in"}},
		{name: "expect match", val: "42", expect: "42", want: check.OK, out: []string{"returned 42 in"}},
		{name: "expect mismatch", val: "41", expect: "42", want: check.Critical, out: []string{"query returned '41', expected '42'"}},
		{name: "expect vs NULL", null: true, expect: "42", want: check.Critical, out: []string{"query returned NULL, expected '42'"}},
		{name: "expect is exact", val: "42 ", expect: "42", want: check.Critical},
		{name: "range ok", val: "7", warn: "10", crit: "20", want: check.OK, valuePerf: true},
		{name: "range warning", val: "15", warn: "10", crit: "20", want: check.Warning, out: []string{"returned 15 (warning_value 10)"}, valuePerf: true},
		{name: "range critical", val: "25", warn: "10", crit: "20", want: check.Critical, out: []string{"returned 25 (critical_value 20)"}, valuePerf: true},
		{name: "range inside", val: "5", crit: "@0:9", want: check.Critical},
		{name: "range float", val: "0.75", warn: "0.5", want: check.Warning},
		{name: "range only critical", val: "3", crit: "2", want: check.Critical},
		{name: "range lower bound", val: "1", warn: "2:", want: check.Warning},
		{name: "not a number", val: "abc", warn: "10", want: check.Unknown, out: []string{"query returned 'abc', not a number"}},
		{name: "null with range", null: true, crit: "10", want: check.Unknown, out: []string{"returned NULL, not a number"}},
		{name: "slow warning", val: "1", elapsed: 7 * time.Second, want: check.Warning, out: []string{"in 7.000 s (warning 6s)"}},
		{name: "slow critical", val: "1", elapsed: 12 * time.Second, want: check.Critical, out: []string{"(critical 11s)"}},
		{name: "slow and value warning", val: "15", warn: "10", elapsed: 12 * time.Second, want: check.Critical},
		{name: "long value capped", val: long, want: check.OK, notOut: []string{long[:MaxValueText+1]}, out: []string{"…"}},
		{name: "newline in value", val: "a\nb", want: check.OK, out: []string{"returned 'a b' in"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &Checker{query: "SELECT 1", expect: tc.expect, warn: DefaultWarning, crit: DefaultCritical,
				warnValue: mustRange(t, tc.warn), critValue: mustRange(t, tc.crit)}
			el := tc.elapsed
			if el == 0 {
				el = 4 * time.Millisecond
			}
			r := c.grade(tc.val, tc.null, el)
			if r.Status != tc.want {
				t.Errorf("status = %v, want %v (%s)", r.Status, tc.want, r.Output)
			}
			for _, s := range tc.out {
				if !strings.Contains(r.Output, s) {
					t.Errorf("output %q does not contain %q", r.Output, s)
				}
			}
			for _, s := range tc.notOut {
				if strings.Contains(r.Output, s) {
					t.Errorf("output contains %q", s[:20])
				}
			}
			if len(r.Output) > 1100 {
				t.Errorf("output is %d bytes", len(r.Output))
			}
			hasValue := false
			for _, m := range r.Perf {
				if m.Label == "value" {
					hasValue = true
				}
			}
			if hasValue != tc.valuePerf && tc.valuePerf {
				t.Errorf("value perfdata = %v, want %v (%v)", hasValue, tc.valuePerf, r.Perf)
			}
		})
	}
}

func TestCheckFlow(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &net.OpError{Err: syscall.ECONNREFUSED}}
	tests := []struct {
		name    string
		conn    *fakeConn
		connErr error
		timeout time.Duration
		want    check.Status
		out     string
	}{
		{name: "ok", conn: &fakeConn{val: "1"}, want: check.OK, out: "FAKE OK - 'SELECT 1' returned 1 in "},
		{name: "no rows", conn: &fakeConn{err: ErrNoRows}, want: check.Critical, out: "FAKE CRITICAL - query returned no rows"},
		{name: "sql error", conn: &fakeConn{err: errors.New("SQLERR 42P01")}, want: check.Critical, out: `FAKE CRITICAL - query failed: ERROR: relation "nope" does not exist`},
		{name: "query error unclassified", conn: &fakeConn{err: errors.New("boom")}, want: check.Critical, out: "FAKE CRITICAL - query failed: boom"},
		{name: "refused", connErr: refused, want: check.Critical, out: "FAKE CRITICAL - connection refused"},
		{name: "auth", connErr: errors.New("badauth"), want: check.Critical, out: `FAKE CRITICAL - authentication failed for user "mon"`},
		{name: "other connect error", connErr: errors.New("tls: no"), want: check.Critical, out: "FAKE CRITICAL - cannot connect: connecting with "},
		{name: "dns", connErr: &net.DNSError{Err: "no such host", Name: "db.example"}, want: check.Critical, out: "FAKE CRITICAL - cannot resolve host db.example: no such host"},
		{name: "query timeout", conn: &fakeConn{val: "1", delay: 5 * time.Second}, timeout: 200 * time.Millisecond, want: check.Critical, out: "FAKE CRITICAL - query timed out after 0.2"},
		{name: "connect timeout", connErr: context.DeadlineExceeded, timeout: time.Second, want: check.Critical, out: "FAKE CRITICAL - timed out connecting"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			closed := false
			if tc.conn != nil {
				tc.conn.closed = &closed
			}
			d := fakeDriver(tc.conn, tc.connErr)
			r := run(t, d, newChecker(t, d, nil), tc.timeout)
			if r.Status != tc.want || !strings.HasPrefix(r.Output, tc.out) {
				t.Errorf("got %v %q, want %v %q…", r.Status, r.Output, tc.want, tc.out)
			}
			if strings.Contains(r.PluginLine(), "s3cr") || strings.Contains(r.PluginLine(), "s3cr%2Fet") {
				t.Errorf("output reveals the password: %q", r.PluginLine())
			}
			if tc.conn != nil && !closed {
				t.Error("connection not closed")
			}
			if len(r.Perf) == 0 || r.Perf[0].Label != "time" {
				t.Errorf("perfdata %v lacks time", r.Perf)
			}
		})
	}
}

func TestScrub(t *testing.T) {
	pw := "p@ss:w/rd me"
	dsn := "mon:" + pw + "@tcp(db:3306)/x"
	s := newScrubber(dsn, pw)
	for _, text := range []string{
		"error with " + dsn,
		"password was " + pw,
		"url postgres://mon:" + url.UserPassword("mon", pw).String()[4:] + "@db/x",
		"query " + url.QueryEscape(pw),
		"path " + url.PathEscape(pw),
	} {
		got := s.scrub(text)
		if strings.Contains(got, "ss:w") || strings.Contains(got, "rd me") || strings.Contains(got, "rd+me") || strings.Contains(got, "rd%20me") {
			t.Errorf("scrub(%q) = %q still shows the password", text, got)
		}
		if !strings.Contains(got, "******") {
			t.Errorf("scrub(%q) = %q: no mask", text, got)
		}
	}
	if got := newScrubber("", "").scrub("plain"); got != "plain" {
		t.Errorf("empty scrubber changed text: %q", got)
	}
}

func TestPasswordNeverInOutput(t *testing.T) {
	d := fakeDriver(nil, errors.New("some driver failure"))
	for _, viaDSN := range []bool{false, true} {
		c := newChecker(t, d, func(s *Spec) {
			if viaDSN {
				s.Host, s.User, s.Password = "", "", check.Secret{}
				s.DSN = check.NewSecret("mon:s3cr/et pw@db")
			}
		})
		r := run(t, d, c, time.Second)
		if strings.Contains(r.PluginLine(), "s3cr") {
			t.Errorf("dsn=%v: output reveals the password: %q", viaDSN, r.PluginLine())
		}
	}
	// A DSN the driver cannot parse, whose error echoes it.
	s := NewSpec(d)
	s.DSN = check.NewSecret("mon-s3cr/et-no-at")
	errs := s.Validate()
	if len(errs) != 1 || errs[0].Field != "dsn" || strings.Contains(errs[0].Error(), "s3cr") {
		t.Errorf("Validate = %v", errs)
	}
}

func TestValidate(t *testing.T) {
	d := fakeDriver(nil, nil)
	tests := []struct {
		name   string
		set    func(s *Spec)
		fields []string
	}{
		{name: "host", set: func(s *Spec) { s.Host = "db" }},
		{name: "dsn", set: func(s *Spec) { s.DSN = check.NewSecret("u:p@h") }},
		{name: "nothing", set: func(s *Spec) {}, fields: []string{"host"}},
		{name: "dsn and fields", set: func(s *Spec) {
			s.DSN = check.NewSecret("u:p@h")
			s.Host, s.Port, s.User, s.Password, s.Database, s.TLS = "h", 1, "u", check.NewSecret("p"), "d", "on"
		}, fields: []string{"host", "port", "user", "password", "database", "tls"}},
		{name: "bad port", set: func(s *Spec) { s.Host = "db"; s.Port = 70000 }, fields: []string{"port"}},
		{name: "bad tls", set: func(s *Spec) { s.Host = "db"; s.TLS = "maybe" }, fields: []string{"tls"}},
		{name: "tls any case", set: func(s *Spec) { s.Host = "db"; s.TLS = "ON" }},
		{name: "empty query", set: func(s *Spec) { s.Host = "db"; s.Query = " " }, fields: []string{"query"}},
		{name: "expect and range", set: func(s *Spec) {
			s.Host = "db"
			s.Expect = "1"
			s.CriticalValue = mustRange(t, "5")
		}, fields: []string{"expect"}},
		{name: "negative durations", set: func(s *Spec) { s.Host = "db"; s.Warning = -1; s.Critical = -1 }, fields: []string{"warning", "critical"}},
		{name: "bad dsn", set: func(s *Spec) { s.DSN = check.NewSecret("nope") }, fields: []string{"dsn"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSpec(d)
			tc.set(s)
			var got []string
			for _, e := range s.Validate() {
				got = append(got, e.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("fields = %v, want %v", got, tc.fields)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	d := fakeDriver(nil, nil)
	k := Kind(d)
	if k.Timeout != 12*time.Second || k.Name != "fake" || k.Label != "FAKE" {
		t.Errorf("kind = %+v", k)
	}
	s := k.New().(*Spec)
	if s.Query != "SELECT 1" || s.Warning != 6*time.Second || s.Critical != 11*time.Second {
		t.Errorf("defaults = %+v", s)
	}
	s.DefaultHost("10.0.0.5")
	if s.Host != "10.0.0.5" {
		t.Errorf("DefaultHost did not fill host: %q", s.Host)
	}
	s.DefaultHost("10.0.0.6")
	if s.Host != "10.0.0.5" {
		t.Errorf("DefaultHost overwrote host: %q", s.Host)
	}
	s2 := NewSpec(d)
	s2.DSN = check.NewSecret("u:p@x")
	s2.DefaultHost("10.0.0.5")
	if s2.Host != "" {
		t.Errorf("DefaultHost filled host next to a dsn")
	}
	// The port defaults to the driver's in the built DSN.
	var queries []string
	conn := &fakeConn{val: "1", queries: &queries}
	var gotDSN string
	d2 := fakeDriver(conn, nil)
	connect := d2.Connect
	d2.Connect = func(ctx context.Context, dsn string, dial DialFunc, l *slog.Logger) (Conn, error) {
		gotDSN = dsn
		return connect(ctx, dsn, dial, l)
	}
	c := newChecker(t, d2, func(s *Spec) { s.Database = "app"; s.TLS = "On" })
	run(t, d2, c, time.Second)
	if gotDSN != "mon:s3cr/et pw@db.example:9999/app?tls=on" {
		t.Errorf("dsn = %q", gotDSN)
	}
	if len(queries) != 1 || queries[0] != "SELECT 1" {
		t.Errorf("queries = %v", queries)
	}
}

// The command line (`mamori check mysql --dsn ... --query ...`) and the
// config reach the spec through fieldset: every field must be supported and
// dsn/query settable by name.
func TestFieldsForCLI(t *testing.T) {
	s := NewSpec(fakeDriver(nil, nil))
	fields := fieldset.Of(s)
	byKey := map[string]fieldset.Field{}
	for _, f := range fields {
		byKey[f.Key] = f
	}
	for _, key := range []string{"dsn", "host", "port", "user", "password", "database", "tls", "query", "expect", "warning_value", "critical_value", "warning", "critical"} {
		if _, ok := byKey[key]; !ok {
			t.Errorf("no field %q", key)
		}
	}
	if len(fields) != 13 {
		t.Errorf("%d fields, want 13", len(fields))
	}
	if err := byKey["dsn"].Set("u:p@h"); err != nil {
		t.Fatal(err)
	}
	if err := byKey["query"].Set("SELECT 2"); err != nil {
		t.Fatal(err)
	}
	if err := byKey["critical_value"].Set("10"); err != nil {
		t.Fatal(err)
	}
	if s.DSN.Reveal() != "u:p@h" || s.Query != "SELECT 2" || !s.CriticalValue.Set {
		t.Errorf("spec after flags: dsn set=%v query=%q", !s.DSN.IsZero(), s.Query)
	}
	if errs := s.Validate(); len(errs) != 0 {
		t.Errorf("Validate = %v", errs)
	}
	if d := byKey["query"].Default(); d != "SELECT 2" {
		t.Errorf("query default shown as %q", d)
	}
}

func TestValueText(t *testing.T) {
	tm := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   any
		want string
		null bool
	}{
		{nil, "", true}, {[]byte("abc"), "abc", false}, {"s", "s", false}, {int64(-3), "-3", false},
		{float64(0.5), "0.5", false}, {true, "true", false}, {tm, "2026-01-02T03:04:05Z", false},
	}
	for _, tc := range tests {
		got, null := ValueText(tc.in)
		if got != tc.want || null != tc.null {
			t.Errorf("ValueText(%#v) = %q, %v; want %q, %v", tc.in, got, null, tc.want, tc.null)
		}
	}
}

func TestShowQuery(t *testing.T) {
	if got := ShowQuery("SELECT\n  count(*)\nFROM t"); got != "'SELECT count(*) FROM t'" {
		t.Errorf("ShowQuery = %q", got)
	}
	if got := ShowQuery(strings.Repeat("a", 500)); len(got) > maxQueryText+10 {
		t.Errorf("ShowQuery not capped: %d bytes", len(got))
	}
}

func TestDeadlineDialer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			time.Sleep(2 * time.Second)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	nc, err := deadlineDialer(ctx)(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	start := time.Now()
	_, err = nc.Read(make([]byte, 1))
	if !isTimeout(context.Background(), err) || time.Since(start) > time.Second {
		t.Errorf("read on a silent server: %v after %v", err, time.Since(start))
	}
}
