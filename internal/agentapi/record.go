package agentapi

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/config"
)

// Record is the server's record of agent contacts and job reports: what the
// heartbeat and push checks read (check.Passive, pushcheck.Watcher). It is
// built before the engine (whose checkers read it) and handed to both the
// engine and the agent API (which writes it), so neither waits for the
// other: the engine then is given to New as the API's Recorder.
type Record struct {
	log     *slog.Logger
	hosts   HostStore
	cfg     func() *config.Config
	now     func() time.Time
	started time.Time

	mu        sync.Mutex
	seen      map[string]time.Time // host → last authenticated contact
	seenSaved map[string]time.Time // host → last contact written to the store
	pushes    map[string]pushRec
	watch     map[string]time.Time
	delivery  map[string]delivery // host → whether its batches are being stored
}

type pushRec struct {
	r  check.Result
	at time.Time
}

// NewRecord loads the record persisted in hosts (last contacts, last push
// reports, push watches); cfg is the configuration in force (push checks'
// names). A store error is logged and leaves that part empty, as at a
// first start.
func NewRecord(hosts HostStore, cfg func() *config.Config, log *slog.Logger) *Record {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rec := &Record{log: log, hosts: hosts, cfg: cfg, now: time.Now, delivery: map[string]delivery{}, seen: map[string]time.Time{}, seenSaved: map[string]time.Time{},
		pushes: map[string]pushRec{}, watch: map[string]time.Time{}}
	rec.started = rec.now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if hs, err := hosts.AgentHosts(ctx); err != nil {
		log.Error("agentapi: load agent hosts", "err", err)
	} else {
		for _, h := range hs {
			if !h.LastSeen.IsZero() {
				rec.seen[h.Host], rec.seenSaved[h.Host] = h.LastSeen, h.LastSeen
			}
		}
	}
	if ps, err := hosts.Pushes(ctx); err != nil {
		log.Error("agentapi: load push reports", "err", err)
	} else {
		for _, p := range ps {
			if !p.WatchSince.IsZero() {
				rec.watch[p.Check] = p.WatchSince
			}
			if !p.At.IsZero() {
				rec.pushes[p.Check] = pushRec{r: p.Result, at: p.At}
			}
		}
	}
	return rec
}

// AgentSeen implements check.Passive.
func (rec *Record) AgentSeen(host string) (time.Time, bool) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	t, ok := rec.seen[host]
	return t, ok
}

// LastPush implements check.Passive.
func (rec *Record) LastPush(name string) (check.Result, time.Time, bool) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	p, ok := rec.pushes[name]
	if !ok {
		return check.Result{}, time.Time{}, false
	}
	r := p.r
	r.Perf = append([]check.Metric(nil), r.Perf...)
	return r, p.at, true
}

// WatchSince implements pushcheck.Watcher: since when the check has been
// waiting for its first report (persisted, so a restart does not reset it).
func (rec *Record) WatchSince(name string) time.Time {
	rec.mu.Lock()
	t, ok := rec.watch[name]
	if !ok {
		t = rec.now()
		rec.watch[name] = t
	}
	rec.mu.Unlock()
	if !ok {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rec.hosts.WatchPush(ctx, name, t); err != nil {
			rec.log.Error("agentapi: record push watch", "check", name, "err", err)
		}
	}
	return t
}

// seenAt records a contact at now; it reports whether the contact is due
// to be written to the store (always with hello info, else at most every
// seenPersistEvery).
func (rec *Record) seenAt(host string, now time.Time, withInfo bool) (persist bool) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if now.After(rec.seen[host]) {
		rec.seen[host] = now
	}
	persist = withInfo || now.Sub(rec.seenSaved[host]) >= seenPersistEvery
	if persist {
		rec.seenSaved[host] = now
	}
	return persist
}

// pushed records a job's report (already stored).
func (rec *Record) pushed(name string, r check.Result, at time.Time) {
	rec.mu.Lock()
	rec.pushes[name] = pushRec{r: r, at: at}
	rec.mu.Unlock()
}

// CheckNameOf implements pushcheck.SpecNamer.
func (rec *Record) CheckNameOf(spec check.Spec) (string, bool) {
	cfg := rec.cfg()
	if cfg == nil {
		return "", false
	}
	for _, c := range cfg.Checks {
		if c.Spec == spec {
			return c.Name, true
		}
	}
	return "", false
}
