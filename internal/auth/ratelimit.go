package auth

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// RateLimit bounds failed logins per user name and per client address.
// After Max failures within Window the key is locked until the window ends;
// each further lockout doubles the window (exponential backoff) up to
// MaxLock. Every attempt counts while it runs, so parallel guesses cannot
// slip past the limit; a success gives the attempt back.
type RateLimit struct {
	Window     time.Duration
	UserMax    int           // failures per user name per window
	IPMax      int           // failures per client address (IPv6: per /64) per window
	MaxLock    time.Duration // longest lock
	MaxEntries int           // per kind; the least recently seen unlocked entries go first
}

// DefaultRateLimit: 5 failures per user name or 20 per address in 15 minutes.
// The per-address limit is higher because offices share one address.
var DefaultRateLimit = RateLimit{Window: 15 * time.Minute, UserMax: 5, IPMax: 20, MaxLock: 24 * time.Hour, MaxEntries: 10000}

type rlEntry struct {
	start   time.Time // window start
	fails   int       // attempts counted in this window
	until   time.Time // locked until; zero = not locked
	strikes int       // lockouts so far, for the backoff
	seen    time.Time
}

type rlTable struct {
	max int
	m   map[string]*rlEntry
}

type limiter struct {
	cfg   RateLimit
	mu    sync.Mutex
	users rlTable
	ips   rlTable
}

func newLimiter(c RateLimit) *limiter {
	d := DefaultRateLimit
	if c.Window <= 0 {
		c.Window = d.Window
	}
	if c.UserMax <= 0 {
		c.UserMax = d.UserMax
	}
	if c.IPMax <= 0 {
		c.IPMax = d.IPMax
	}
	if c.MaxLock <= 0 {
		c.MaxLock = d.MaxLock
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = d.MaxEntries
	}
	return &limiter{cfg: c, users: rlTable{c.UserMax, map[string]*rlEntry{}}, ips: rlTable{c.IPMax, map[string]*rlEntry{}}}
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

// refresh ends an expired lock or window. Caller holds mu.
func (l *limiter) refresh(e *rlEntry, now time.Time) {
	switch {
	case !e.until.IsZero():
		if !now.Before(e.until) {
			e.until, e.fails, e.start = time.Time{}, 0, now
		}
	case now.Sub(e.start) >= l.cfg.Window:
		e.fails, e.start = 0, now
		if now.Sub(e.seen) >= l.cfg.MaxLock {
			e.strikes = 0 // quiet for a long time: forgive
		}
	}
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
		e = &rlEntry{start: now, seen: now}
		t.m[key] = e
	}
	l.refresh(e, now)
	return e
}

// evict makes room: stale entries first, else the least recently seen
// unlocked one, else the least recently seen.
func (l *limiter) evict(t *rlTable, now time.Time) {
	var oldKey string
	var old *rlEntry
	oldLocked := true
	for k, e := range t.m {
		locked := !e.until.IsZero() && now.Before(e.until)
		if !locked && now.Sub(e.start) >= l.cfg.Window && e.strikes == 0 {
			delete(t.m, k)
			continue
		}
		if old == nil || (oldLocked && !locked) || (oldLocked == locked && e.seen.Before(old.seen)) {
			oldKey, old, oldLocked = k, e, locked
		}
	}
	if len(t.m) >= l.cfg.MaxEntries && old != nil {
		delete(t.m, oldKey)
	}
}

// begin counts an attempt for user and ip. If either is locked it counts
// nothing and returns when the lock ends.
func (l *limiter) begin(user, ip string, now time.Time) (ok bool, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.get(&l.users, user, now, true)
	i := l.get(&l.ips, ip, now, true)
	for _, x := range []struct {
		e   *rlEntry
		max int
	}{{u, l.cfg.UserMax}, {i, l.cfg.IPMax}} {
		if x.e == nil {
			continue
		}
		if !x.e.until.IsZero() && x.e.until.After(until) {
			until = x.e.until
		}
		if x.e.until.IsZero() && x.e.fails >= x.max { // in-flight attempts fill the window
			if w := x.e.start.Add(l.cfg.Window); w.After(until) {
				until = w
			}
		}
	}
	if !until.IsZero() {
		return false, until
	}
	for _, e := range []*rlEntry{u, i} {
		if e != nil {
			e.fails++
			e.seen = now
		}
	}
	return true, time.Time{}
}

// failed confirms a failed attempt begun with begin: a key at its maximum
// gets locked.
func (l *limiter) failed(user, ip string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range []struct {
		e   *rlEntry
		max int
	}{{l.get(&l.users, user, now, false), l.cfg.UserMax}, {l.get(&l.ips, ip, now, false), l.cfg.IPMax}} {
		e := x.e
		if e == nil || !e.until.IsZero() || e.fails < x.max {
			continue
		}
		e.strikes++
		lock := l.cfg.Window << min(e.strikes-1, 20)
		if lock > l.cfg.MaxLock || lock <= 0 {
			lock = l.cfg.MaxLock
		}
		e.until = e.start.Add(lock)
		if !e.until.After(now) {
			e.until = now.Add(l.cfg.Window)
		}
	}
}

// succeeded ends the user's record and gives the address its attempt back.
func (l *limiter) succeeded(user, ip string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if user != "" {
		delete(l.users.m, user)
	}
	if e := l.get(&l.ips, ip, now, false); e != nil && e.fails > 0 && e.until.IsZero() {
		e.fails--
	}
}

// undo gives an attempt back to both keys (it was not a guess).
func (l *limiter) undo(user, ip string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range []*rlEntry{l.get(&l.users, user, now, false), l.get(&l.ips, ip, now, false)} {
		if e != nil && e.fails > 0 && e.until.IsZero() {
			e.fails--
		}
	}
}
