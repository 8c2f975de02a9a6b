package httpcheck

import (
	"context"
	"net"
	"strconv"
	"sync"

	"github.com/mamori/mamori/internal/check"
)

// validateSeedModes checks http_version, also_http and http_port.
func (s *Spec) validateSeedModes() []check.FieldError {
	var errs []check.FieldError
	switch s.HTTPVersion {
	case "", "1.1", "1.0":
	default:
		errs = append(errs, check.Errf("http_version", "%q is not 1.0 or 1.1", s.HTTPVersion))
	}
	if s.AlsoHTTP && !s.https {
		errs = append(errs, check.Errf("also_http", "is for https checks (an http check requests plain http already)"))
	}
	if s.HTTPPort < 1 || s.HTTPPort > 65535 {
		errs = append(errs, check.Errf("http_port", "%d is not a port (1..65535)", s.HTTPPort))
	}
	return errs
}

// withPlain pairs an https checker with a request of the same path over
// plain http on http_port: the seed's HTTPS rule needs both ports to answer.
func (s *Spec) withPlain(secure *checker) (check.Checker, error) {
	plain := *s
	plain.https, plain.AlsoHTTP = false, false
	plain.WarningDays, plain.CriticalDays = 0, 0
	u := *secure.url
	u.Scheme = "http"
	u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(s.HTTPPort))
	plain.URL, plain.Host, plain.Port = u.String(), "", 0
	pc, err := plain.New(check.Env{})
	if err != nil {
		return nil, err
	}
	return &both{secure: secure, plain: pc, port: s.HTTPPort}, nil
}

// both runs the https and the http request at once; the worse result wins.
type both struct {
	secure, plain check.Checker
	port          int
}

func (b *both) Check(ctx context.Context) check.Result {
	var plain check.Result
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); plain = b.plain.Check(ctx) }()
	r := b.secure.Check(ctx)
	wg.Wait()
	r.Status = check.Worst(r.Status, plain.Status)
	r.Output = check.OneLine(r.Output + "; http port " + strconv.Itoa(b.port) + ": " + plain.Output)
	for _, m := range plain.Perf {
		m.Label = "http_" + m.Label
		r.Perf = append(r.Perf, m)
	}
	return r
}
