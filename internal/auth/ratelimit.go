package auth

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// RateLimit throttles failed logins without ever locking an account:
//
//   - per (user, client): a client is the device (a signed device cookie
//     from an earlier successful login of that user) or else the address.
//     From its Free-th failure on, each failure makes that client wait a
//     growing delay (BaseDelay, doubling, at most MaxDelay) before its
//     next attempt. Other clients are not affected: the right password
//     works at once from a client that has not been failing.
//   - per address, over all user names (password spraying): from IPFree
//     failures on, unknown clients from that address wait growing delays.
//   - per account, over all clients: after AccountMax failures in Window
//     (a distributed attack), clients unknown to the account wait growing
//     delays account-wide, and known devices are slowed by KnownSlow but
//     never refused.
//
// Failures are forgotten a Window after the last one and after its delay.
// Attempts in flight count, so parallel guesses cannot slip past.
type RateLimit struct {
	Window     time.Duration // failures are forgotten this long after the last one
	Free       int           // failures per (user, client) before delays begin
	BaseDelay  time.Duration // the first delay; each further failure doubles it
	MaxDelay   time.Duration // the longest delay
	IPFree     int           // failures per address (IPv6: per /64), any user, before delays for unknown clients
	AccountMax int           // failures per account in Window before its ceiling
	KnownSlow  time.Duration // a known device's wait while its account is over the ceiling
	MaxEntries int           // per table; idle entries go first, then the least recently seen
}

// DefaultRateLimit: 3 failures per user and client at once, then waits of
// 1 s, 2 s, 4 s, … up to 15 min; 20 per address (offices share one); a
// ceiling of 30 failures per account in 15 min.
var DefaultRateLimit = RateLimit{Window: 15 * time.Minute, Free: 3, BaseDelay: time.Second, MaxDelay: 15 * time.Minute,
	IPFree: 20, AccountMax: 30, KnownSlow: 2 * time.Second, MaxEntries: 10000}

type rlEntry struct {
	fails    int       // failures counted
	inflight int       // attempts begun and not yet finished
	last     time.Time // last failure
	next     time.Time // no attempt before this
	seen     time.Time
	reported bool // a refused attempt was recorded since the last failure
}

type rlTable struct {
	free int
	m    map[string]*rlEntry
}

type limiter struct {
	cfg      RateLimit
	mu       sync.Mutex
	pairs    rlTable // user \x00 client
	ips      rlTable
	accounts rlTable
}

func newLimiter(c RateLimit) *limiter {
	d := DefaultRateLimit
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	setD(&c.Window, d.Window)
	set(&c.Free, d.Free)
	setD(&c.BaseDelay, d.BaseDelay)
	setD(&c.MaxDelay, d.MaxDelay)
	set(&c.IPFree, d.IPFree)
	set(&c.AccountMax, d.AccountMax)
	setD(&c.KnownSlow, d.KnownSlow)
	set(&c.MaxEntries, d.MaxEntries)
	return &limiter{cfg: c, pairs: rlTable{c.Free, map[string]*rlEntry{}}, ips: rlTable{c.IPFree, map[string]*rlEntry{}},
		accounts: rlTable{c.AccountMax, map[string]*rlEntry{}}}
}

// ipKey groups an address: IPv4 as is, IPv6 by /64. "" if unparsable.
func ipKey(ip string) string {
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return ""
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// delay is the wait after the n-th failure of a key that allows free ones
// (the free-th failure earns the first delay).
func (l *limiter) delay(n, free int) time.Duration {
	if n < free {
		return 0
	}
	d := l.cfg.BaseDelay << min(n-free, 30)
	if d > l.cfg.MaxDelay || d <= 0 {
		d = l.cfg.MaxDelay
	}
	return d
}

// idle reports whether an entry holds nothing worth keeping: no attempt
// in flight, and a window has passed since its last failure and since its
// delay ended (so a client that waits out the longest delay keeps it).
func (l *limiter) idle(e *rlEntry, now time.Time) bool {
	return e.inflight == 0 && !now.Before(e.next.Add(l.cfg.Window)) && now.Sub(e.last) >= l.cfg.Window
}

func (l *limiter) get(t *rlTable, key string, now time.Time, create bool) *rlEntry {
	if key == "" {
		return nil
	}
	e := t.m[key]
	if e == nil {
		if !create {
			return nil
		}
		if len(t.m) >= l.cfg.MaxEntries {
			l.evict(t, now)
		}
		e = &rlEntry{seen: now}
		t.m[key] = e
	}
	if l.idle(e, now) {
		e.fails, e.reported = 0, false // quiet for a window: forgotten
	}
	return e
}

// evict makes room: idle entries first, else the least recently seen one
// without a running delay, else the least recently seen.
func (l *limiter) evict(t *rlTable, now time.Time) {
	var oldKey string
	var old *rlEntry
	oldBusy := true
	for k, e := range t.m {
		if l.idle(e, now) {
			delete(t.m, k)
			continue
		}
		busy := now.Before(e.next) || e.inflight > 0
		if old == nil || (oldBusy && !busy) || (oldBusy == busy && e.seen.Before(old.seen)) {
			oldKey, old, oldBusy = k, e, busy
		}
	}
	if len(t.m) >= l.cfg.MaxEntries && old != nil {
		delete(t.m, oldKey)
	}
}

// verdict is the limiter's answer to an attempt.
type verdict struct {
	ok       bool
	until    time.Time     // refused: no attempt before this
	slow     time.Duration // allowed after this wait (a known device over the account's ceiling)
	report   bool          // refused: the first refusal since the last failure (record it)
	pair, ip string
	acct     string
}

// blocked reports until when an entry refuses an attempt (zero: it does
// not): during its delay, or past its free failures while one runs.
func blocked(e *rlEntry, free int, now time.Time) (time.Time, bool) {
	if e == nil {
		return time.Time{}, false
	}
	if now.Before(e.next) {
		return e.next, true
	}
	if e.inflight > 0 && e.fails+e.inflight >= free {
		return now.Add(time.Second), true // past the free ones, one attempt at a time
	}
	return time.Time{}, false
}

// begin decides on an attempt of user from client (the device or the
// address key) and address ip; known: the client is a device the user
// logged in from before. An allowed attempt must be ended with end.
func (l *limiter) begin(user, client, ip string, known bool, now time.Time) verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := verdict{pair: user + "\x00" + client, acct: user}
	if !known {
		v.ip = ip
	}
	p := l.get(&l.pairs, v.pair, now, true)
	i := l.get(&l.ips, v.ip, now, true)
	a := l.get(&l.accounts, v.acct, now, true)
	var refusals []time.Time
	if t, ok := blocked(p, l.cfg.Free, now); ok {
		refusals = append(refusals, t)
	}
	if t, ok := blocked(i, l.cfg.IPFree, now); ok {
		refusals = append(refusals, t)
	}
	over := a != nil && a.fails >= l.cfg.AccountMax
	if over && !known {
		if t, ok := blocked(a, l.cfg.AccountMax, now); ok {
			refusals = append(refusals, t)
		}
	}
	if len(refusals) > 0 {
		for _, t := range refusals {
			if t.After(v.until) {
				v.until = t
			}
		}
		if p != nil && !p.reported {
			p.reported, v.report = true, true
		}
		return v
	}
	for _, e := range []*rlEntry{p, i, a} {
		if e != nil {
			e.inflight++
			e.seen = now
		}
	}
	v.ok = true
	if over && known {
		v.slow = l.cfg.KnownSlow
	}
	return v
}

// end finishes an attempt begun with begin: failed counts a failure (with
// its delays); otherwise a success forgets the client's failures, and an
// attempt that was not a guess (the server was busy) counts nothing.
func (l *limiter) end(v verdict, failed, success bool, now time.Time) {
	if !v.ok {
		return // refused: nothing began
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range []struct {
		t   *rlTable
		key string
	}{{&l.pairs, v.pair}, {&l.ips, v.ip}, {&l.accounts, v.acct}} {
		e := x.t.m[x.key]
		if x.key == "" || e == nil {
			continue
		}
		e.inflight = max(0, e.inflight-1)
		switch {
		case failed:
			e.fails++
			e.last, e.reported = now, false
			if d := l.delay(e.fails, x.t.free); d > 0 {
				e.next = now.Add(d)
			}
		case success && x.t == &l.pairs:
			delete(x.t.m, x.key)
		}
	}
}

// accountFailures is the failures counted against an account now.
func (l *limiter) accountFailures(user string, now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.get(&l.accounts, user, now, false); e != nil {
		return e.fails
	}
	return 0
}
