// Package pingcheck implements the ping check type: ICMP echo requests to a
// host, graded by average round-trip time and packet loss like check_ping
// ("rta,loss%" thresholds). Every check of the process shares one ICMP
// socket per address family (see pinger.go).
package pingcheck

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
)

const (
	defaultWarning  = "100ms,20%"
	defaultCritical = "300ms,60%"
)

func init() {
	check.Register(&check.Kind{
		Name:    "ping",
		Label:   "PING",
		Summary: "ICMP echo: round-trip time and packet loss (like check_ping)",
		Scope:   check.ScopeServer,
		Timeout: 10 * time.Second,
		New:     func() check.Spec { return newSpec() },
	})
}

// Spec is the configuration of a ping check.
type Spec struct {
	Host           string        `yaml:"host" required:"true" help:"host name or IP address to ping"`
	Packets        int           `yaml:"packets" help:"echo requests to send"`
	PacketInterval time.Duration `yaml:"packet_interval" help:"time between two echo requests"`
	Warning        string        `yaml:"warning" help:"WARNING at this round-trip average or loss: \"RTA,LOSS%\" (e.g. 100ms,20%; a bare RTA number is ms; a missing part keeps its default)"`
	Critical       string        `yaml:"critical" help:"CRITICAL at this round-trip average or loss: \"RTA,LOSS%\" (e.g. 300ms,60%)"`
	Size           int           `yaml:"size" help:"bytes of echo payload"`
	IPv6           bool          `yaml:"ipv6" help:"ping the host's IPv6 address when its name has both"`
	ICMPMode       string        `yaml:"icmp_mode" help:"ICMP socket: auto (unprivileged if allowed, else raw), unprivileged or privileged"`
}

func newSpec() *Spec {
	return &Spec{
		Packets:        5,
		PacketInterval: 200 * time.Millisecond,
		Warning:        defaultWarning,
		Critical:       defaultCritical,
		Size:           56,
		ICMPMode:       "auto",
	}
}

// DefaultHost takes the host's address when host is empty.
func (s *Spec) DefaultHost(address string) {
	if s.Host == "" {
		s.Host = address
	}
}

// limits is a parsed "rta,loss%" threshold.
type limits struct {
	RTA  time.Duration // >= this is an alert (0: off)
	Loss float64       // percent; >= this is an alert (< 0: off)
}

// parseLimits parses check_ping's "RTA,LOSS%" form: "100ms,20%", "100,20%"
// (plain numbers are milliseconds), "0.1s,20". One part alone is allowed:
// "200ms" (RTA) or "20%" (loss); the other keeps its value from def.
func parseLimits(s string, def limits) (limits, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return def, nil
	}
	out := def
	rta, loss, hasComma := strings.Cut(s, ",")
	rta, loss = strings.TrimSpace(rta), strings.TrimSpace(loss)
	if !hasComma && strings.HasSuffix(rta, "%") {
		rta, loss = "", rta
	}
	if rta != "" {
		d, err := parseRTA(rta)
		if err != nil {
			return limits{}, err
		}
		out.RTA = d
	}
	if loss != "" {
		f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(loss, "%")), 64)
		if err != nil || f < 0 || f > 100 || math.IsNaN(f) {
			return limits{}, fmt.Errorf("loss %q is not a percentage 0..100", loss)
		}
		out.Loss = f
	}
	return out, nil
}

func parseRTA(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("round-trip time %q must not be negative", s)
		}
		return time.Duration(f * float64(time.Millisecond)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("round-trip time %q is not a duration (100ms) or a number of ms", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("round-trip time %q must not be negative", s)
	}
	return d, nil
}

var (
	defWarn, _ = parseLimits(defaultWarning, limits{})
	defCrit, _ = parseLimits(defaultCritical, limits{})
)

// Validate reports every problem with the spec.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	if strings.TrimSpace(s.Host) == "" {
		errs = append(errs, check.Errf("host", "required"))
	}
	if s.Packets < 1 || s.Packets > 100 {
		errs = append(errs, check.Errf("packets", "%d is not in 1..100", s.Packets))
	}
	if s.PacketInterval < time.Millisecond {
		errs = append(errs, check.Errf("packet_interval", "%s is shorter than 1ms", s.PacketInterval))
	}
	w, werr := parseLimits(s.Warning, defWarn)
	if werr != nil {
		errs = append(errs, check.Errf("warning", "%v", werr))
	}
	c, cerr := parseLimits(s.Critical, defCrit)
	if cerr != nil {
		errs = append(errs, check.Errf("critical", "%v", cerr))
	}
	if werr == nil && cerr == nil {
		if w.RTA > 0 && c.RTA > 0 && w.RTA > c.RTA {
			errs = append(errs, check.Errf("warning", "round-trip time %s is greater than critical %s", w.RTA, c.RTA))
		}
		if w.Loss > c.Loss {
			errs = append(errs, check.Errf("warning", "loss %g%% is greater than critical %g%%", w.Loss, c.Loss))
		}
	}
	if s.Size < 0 || s.Size > 65000 {
		errs = append(errs, check.Errf("size", "%d is not in 0..65000", s.Size))
	}
	if _, ok := modeNames[strings.ToLower(s.ICMPMode)]; !ok {
		errs = append(errs, check.Errf("icmp_mode", "%q is not auto, unprivileged or privileged", s.ICMPMode))
	}
	return errs
}

// New builds the checker.
func (s *Spec) New(check.Env) (check.Checker, error) {
	w, err := parseLimits(s.Warning, defWarn)
	if err != nil {
		return nil, fmt.Errorf("warning: %w", err)
	}
	c, err := parseLimits(s.Critical, defCrit)
	if err != nil {
		return nil, fmt.Errorf("critical: %w", err)
	}
	mode, ok := modeNames[strings.ToLower(s.ICMPMode)]
	if !ok {
		return nil, fmt.Errorf("icmp_mode %q is not auto, unprivileged or privileged", s.ICMPMode)
	}
	ck := &checker{spec: *s, warn: w, crit: c, host: strings.TrimSpace(s.Host)}
	ck.pinger = func(v6 bool) (*pinger, error) { return sharedPinger(v6, mode) }
	if a, err := netip.ParseAddr(strings.Trim(ck.host, "[]")); err == nil {
		ck.addr = a.Unmap()
	}
	return ck, nil
}

type checker struct {
	spec       Spec
	warn, crit limits
	host       string
	addr       netip.Addr // set when host is an IP address
	pinger     func(v6 bool) (*pinger, error)
}

// stats is what one run measured.
type stats struct {
	Sent, Received int
	Min, Avg, Max  time.Duration
	LossPct        float64
	SendErr        error // the first send error, if any
}

// grade applies check_ping's rule: CRITICAL if loss >= crit loss or the
// average >= crit RTA, else WARNING likewise, else OK; no reply at all is
// always CRITICAL.
func grade(st stats, warn, crit limits) check.Status {
	if st.Sent > 0 && st.Received == 0 {
		return check.Critical
	}
	alert := func(l limits) bool {
		return (l.Loss >= 0 && st.LossPct >= l.Loss && !(l.Loss == 0 && st.LossPct == 0) && st.Sent > 0) ||
			(l.RTA > 0 && st.Received > 0 && st.Avg >= l.RTA)
	}
	switch {
	case alert(crit):
		return check.Critical
	case alert(warn):
		return check.Warning
	}
	return check.OK
}

// Check pings the host.
func (c *checker) Check(ctx context.Context) check.Result {
	start := time.Now()
	dst := c.addr
	label := dst.String()
	if !dst.IsValid() {
		a, err := c.resolve(ctx)
		if err != nil {
			return check.Resultf(check.Critical, "%s: cannot resolve: %s", c.host, check.ErrText(ctx, err))
		}
		dst = a
		label = fmt.Sprintf("%s (%s)", c.host, dst)
	}
	p, err := c.pinger(dst.Is6())
	if err != nil {
		return check.Resultf(check.Unknown, "%s: %v", label, err)
	}
	st := c.ping(ctx, p, dst, start)
	status := grade(st, c.warn, c.crit)
	var out string
	if st.Received == 0 {
		out = fmt.Sprintf("%s: lost 100%% (no reply to %d packets)", label, st.Sent)
	} else {
		out = fmt.Sprintf("%s: rta %sms, lost %s%%", label, ms(st.Avg), fmtPct(st.LossPct))
	}
	if st.SendErr != nil {
		out += ", " + sysErr(st.SendErr).Error()
	}
	return check.Resultf(status, "%s", out).With(c.perf(st)...)
}

func (c *checker) resolve(ctx context.Context) (netip.Addr, error) {
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", c.host)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, want6 := range []bool{c.spec.IPv6, !c.spec.IPv6} {
		for _, a := range addrs {
			a = a.Unmap()
			if a.Is6() == want6 {
				return a, nil
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("no address for %s", c.host)
}

// ping sends the packets at the interval and collects replies until all are
// in or the deadline is near (replies not in by then are lost).
func (c *checker) ping(ctx context.Context, p *pinger, dst netip.Addr, start time.Time) stats {
	n := c.spec.Packets
	ch := make(chan reply, n)
	seqs := make([]uint16, 0, n)
	rtts := make([]time.Duration, n)
	got := make([]bool, n)
	st := stats{}

	// Stop waiting a little before the deadline so the result is ours, not
	// the runner's "no answer within".
	var stop <-chan time.Time
	if dl, ok := ctx.Deadline(); ok {
		margin := dl.Sub(start) / 10
		margin = max(min(margin, time.Second), 5*time.Millisecond)
		t := time.NewTimer(time.Until(dl.Add(-margin)))
		defer t.Stop()
		stop = t.C
	}
	var tick *time.Ticker
	if n > 1 {
		tick = time.NewTicker(c.spec.PacketInterval)
		defer tick.Stop()
	}
	sendOne := func(i int) {
		seq, err := p.send(dst, c.spec.Size, i, ch)
		if err != nil {
			if st.SendErr == nil {
				st.SendErr = err
			}
			st.Sent++ // a packet we could not send is lost too
			return
		}
		seqs = append(seqs, seq)
		st.Sent++
	}
	take := func(r reply) {
		if !got[r.idx] {
			got[r.idx] = true
			rtts[r.idx] = r.rtt
			st.Received++
		}
	}
	sendOne(0)
	next := 1
	var tickC <-chan time.Time
	if tick != nil {
		tickC = tick.C
	}
loop:
	for st.Received < len(seqs) || next < n {
		select {
		case r := <-ch:
			take(r)
		case <-tickC:
			sendOne(next)
			next++
			if next >= n {
				tick.Stop()
				tickC = nil
			}
		case <-stop:
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	p.forget(seqs...)
	// A reply may have raced in after the loop.
	for {
		select {
		case r := <-ch:
			take(r)
			continue
		default:
		}
		break
	}
	st.summarise(got, rtts)
	return st
}

// summarise fills min, max and average round trip of the replies got
// (rtts by packet) and the loss percentage.
func (st *stats) summarise(got []bool, rtts []time.Duration) {
	var sum time.Duration
	for i, ok := range got {
		if !ok {
			continue
		}
		d := rtts[i]
		sum += d
		if st.Min == 0 || d < st.Min {
			st.Min = d
		}
		if d > st.Max {
			st.Max = d
		}
	}
	if st.Received > 0 {
		st.Avg = sum / time.Duration(st.Received)
	}
	if st.Sent > 0 {
		st.LossPct = 100 * float64(st.Sent-st.Received) / float64(st.Sent)
	}
}

func (c *checker) perf(st stats) []check.Metric {
	msf := func(d time.Duration) float64 {
		return math.Round(float64(d)/float64(time.Microsecond)) / 1000
	}
	lim := func(d time.Duration) float64 {
		if d <= 0 {
			return check.NaN
		}
		return msf(d)
	}
	pct := func(f float64) float64 {
		if f < 0 {
			return check.NaN
		}
		return f
	}
	pl := check.Metric{Label: "pl", Value: math.Round(st.LossPct*100) / 100, Unit: "%", Warn: pct(c.warn.Loss), Crit: pct(c.crit.Loss), Min: 0, Max: check.NaN}
	if st.Received == 0 {
		return []check.Metric{pl}
	}
	rta := check.Metric{Label: "rta", Value: msf(st.Avg), Unit: "ms", Warn: lim(c.warn.RTA), Crit: lim(c.crit.RTA), Min: 0, Max: check.NaN}
	return []check.Metric{rta, pl, check.M("rtmin", msf(st.Min), "ms"), check.M("rtmax", msf(st.Max), "ms")}
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}

func fmtPct(f float64) string {
	return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64)
}
