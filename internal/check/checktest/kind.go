package checktest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/fieldset"
)

// Kind runs the specs of one registered check type in tests: S is the
// type's spec (a pointer to its Spec struct), Name its registered name.
type Kind[S check.Spec] struct{ Name string }

func (k Kind[S]) kind() *check.Kind {
	kind, ok := check.Lookup(k.Name)
	if !ok {
		panic("checktest: no check type " + k.Name)
	}
	return kind
}

// Spec is the type's default spec with its host and port keys set.
func (k Kind[S]) Spec(host string, port int) S {
	s := k.kind().New().(S)
	set := map[string]string{"host": host, "port": strconv.Itoa(port)}
	for _, f := range fieldset.Of(s) {
		if v, ok := set[f.Key]; ok {
			if err := f.Set(v); err != nil {
				panic(fmt.Sprintf("checktest: %s %s: %v", k.Name, f.Key, err))
			}
			delete(set, f.Key)
		}
	}
	if len(set) > 0 {
		panic(fmt.Sprintf("checktest: %s has no keys %v", k.Name, set))
	}
	return s
}

// Run validates s, builds its checker and runs it as the type's checks run,
// with timeout (0: the type's), and logs the output and perfdata.
func (k Kind[S]) Run(t testing.TB, s S, timeout time.Duration) check.Result {
	t.Helper()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("validate: %v", errs)
	}
	c, err := s.New(check.Env{})
	if err != nil {
		t.Fatal(err)
	}
	r := check.Run(context.Background(), k.kind(), c, timeout)
	t.Logf("%s | %s", r.Output, check.PerfString(r.Perf))
	return r
}

// Case is a row of a table test: the type's spec for 127.0.0.1 and Port,
// changed by Mod (if not nil) and run with Timeout (0: the type's), must
// end in Want with an output that contains Out. It is an alias of a struct
// type so that a test's table can list its rows positionally, as a table
// of its own struct type would.
type Case[S check.Spec] = struct {
	Name    string
	Port    int
	Mod     func(S)
	Timeout time.Duration
	Want    check.Status
	Out     string
}

// Also checks more of a case's result (after its status and output).
type Also[S check.Spec] func(t *testing.T, c Case[S], s S, r check.Result)

// Table runs each case as a subtest, then the also checks on its result.
func (k Kind[S]) Table(t *testing.T, cases []Case[S], also ...Also[S]) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			s := k.Spec("127.0.0.1", c.Port)
			if c.Mod != nil {
				c.Mod(s)
			}
			r := k.Run(t, s, c.Timeout)
			if r.Status != c.Want || !strings.Contains(r.Output, c.Out) {
				t.Errorf("got %s %q, want %s containing %q", r.Status, r.Output, c.Want, c.Out)
			}
			for _, a := range also {
				a(t, c, s, r)
			}
		})
	}
}

// Hides is an Also check that the output reveals none of the secrets.
func Hides[S check.Spec](secrets ...string) Also[S] {
	return func(t *testing.T, _ Case[S], _ S, r check.Result) {
		for _, x := range secrets {
			if strings.Contains(r.Output, x) {
				t.Errorf("output reveals the password: %q", r.Output)
			}
		}
	}
}

// DaemonPort is the port of Daemon's address.
func DaemonPort(t testing.TB, name, envVar, def string) int {
	t.Helper()
	_, p, _ := net.SplitHostPort(Daemon(t, name, envVar, def))
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// ITestCA is the PEM file of the integration environment's CA
// (MAMORI_ITEST_CA).
func ITestCA() string { return Env("MAMORI_ITEST_CA", "/tmp/mamori-itest/certs/ca.pem") }

// ITestLogin is the user and password the integration environment's mail
// and FTP daemons accept (MAMORI_ITEST_USER, MAMORI_ITEST_PASSWORD).
func ITestLogin() (user, password string) {
	return Env("MAMORI_ITEST_USER", "mtest"), Env("MAMORI_ITEST_PASSWORD", "mtestpass")
}
