package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The chaos test: checks flip between OK and CRITICAL on a random
// schedule, the webhook receiver fails for a while, and the server is
// killed with SIGKILL at random moments and restarted on the same data
// directory. Then, from the receiver's log, what the server published
// while it ran, and the API: no state change lost, no incident lost, no
// notification lost, at most one duplicate per crash, order kept.
//
// MAMORI_CHAOS_SEED=N replays a run's random moments (the seed is logged).
const (
	chaosChecks   = 6
	chaosCrashes  = 5
	chaosDuration = 60 * time.Second
	chaosMinFlip  = 4 * time.Second // a state lasts 4-9 s: several runs see it
	chaosMaxFlip  = 9 * time.Second
	chaosHookDown = 12 * time.Second // the receiver answers 500 this long
)

// flipper is the checks' target: GET /c/N answers 200 or 500 as the
// test decides, and it remembers every flip (the ground truth).
type flipper struct {
	srv   *httptest.Server
	crit  [chaosChecks]atomic.Bool
	mu    sync.Mutex
	flips [chaosChecks][]flip
}

type flip struct {
	at   time.Time
	crit bool
}

func newFlipper(t *testing.T) *flipper {
	f := &flipper{}
	start := time.Now()
	for i := range f.flips {
		f.flips[i] = []flip{{at: start}}
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/c/"))
		if err != nil || i < 0 || i >= chaosChecks {
			http.NotFound(w, r)
			return
		}
		if f.crit[i].Load() {
			http.Error(w, "chaos: down", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "chaos: up")
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *flipper) set(i int, crit bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.crit[i].Load() == crit {
		return
	}
	f.crit[i].Store(crit)
	f.flips[i] = append(f.flips[i], flip{at: time.Now(), crit: crit})
}

// sseCollector keeps a stream of hard state changes open to whichever
// server runs on base and records every event the server published.
type sseCollector struct {
	mu     sync.Mutex
	seen   map[int64]chaosEvent
	cancel context.CancelFunc
	done   chan struct{}
}

type chaosEvent struct {
	ID            int64     `json:"id"`
	Check         string    `json:"check"`
	Time          time.Time `json:"time"`
	State         string    `json:"state"`
	PreviousState string    `json:"previous_state"`
	Hard          bool      `json:"hard"`
	Recovery      bool      `json:"recovery"`
	Notify        bool      `json:"notify"`
}

func collectSSE(base string) *sseCollector {
	ctx, cancel := context.WithCancel(context.Background())
	c := &sseCollector{seen: map[int64]chaosEvent{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/events/stream?hard=1", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				sc := bufio.NewScanner(resp.Body)
				for sc.Scan() {
					if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
						var e chaosEvent
						if json.Unmarshal([]byte(data), &e) == nil && e.Hard {
							c.mu.Lock()
							c.seen[e.ID] = e
							c.mu.Unlock()
						}
					}
				}
				resp.Body.Close()
			}
			time.Sleep(50 * time.Millisecond) // the server is restarting
		}
	}()
	return c
}

func (c *sseCollector) close() map[int64]chaosEvent {
	c.cancel()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen
}

type uptime struct{ from, to time.Time }

func TestChaosKill9UnderFlappingChecks(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts server processes for about two minutes")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("MAMORI_CHAOS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("MAMORI_CHAOS_SEED: %v", err)
		}
		seed = v
	}
	t.Logf("chaos seed %d (MAMORI_CHAOS_SEED=%d replays the schedule)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	began := time.Now()

	flips := newFlipper(t)
	hook := newHookReceiver(t)
	dir := t.TempDir()
	port := freePort(t)
	var checks strings.Builder
	for i := 0; i < chaosChecks; i++ {
		fmt.Fprintf(&checks, "  - {name: chaos%d, type: http, url: \"%s/c/%d\", notify: [hook]}\n", i, flips.srv.URL, i)
	}
	// attempts 1: every flip is a hard state change. Flap detection is
	// pushed out of reach: held notifications are not what this test is about.
	cfgPath := filepath.Join(dir, "mamori.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: %s
defaults: {interval: 1s, attempts: 1, flap_low: 90, flap_high: 95}
channels:
  - {name: hook, type: webhook, url: "%s/hook"}
checks:
%s`, port, filepath.Join(dir, "data"), hook.srv.URL, checks.String())), 0o644)

	s := startServer(t, cfgPath, port)
	for i := 0; i < chaosChecks; i++ {
		s.waitFor(fmt.Sprintf("chaos%d", i), 20*time.Second, "a first OK", func(c apiCheck) bool { return c.State == "OK" && c.LastCheck != "" })
	}
	sse := collectSSE(s.base)
	t0 := time.Now()
	ups := []uptime{{from: t0}}

	// The schedule, drawn from the seed up front: flips per check, the
	// receiver's outage, the crash moments (at least 6 s apart: a restart
	// under -race on a loaded machine takes a few seconds).
	type flipAt struct {
		at    time.Duration
		check int
	}
	var plan []flipAt
	for i := 0; i < chaosChecks; i++ {
		for at := randDur(rng, chaosMinFlip, chaosMaxFlip); at < chaosDuration; at += randDur(rng, chaosMinFlip, chaosMaxFlip) {
			plan = append(plan, flipAt{at, i})
		}
	}
	sort.Slice(plan, func(a, b int) bool { return plan[a].at < plan[b].at })
	hookDownAt := randDur(rng, 8*time.Second, 25*time.Second)
	var crashes []time.Duration
	slot := (chaosDuration - 6*time.Second) / chaosCrashes
	for k := 0; k < chaosCrashes; k++ {
		at := 4*time.Second + time.Duration(k)*slot + randDur(rng, 0, slot-6*time.Second)
		// Every other crash lands just after a flip, while the state
		// change, its incident and its notification are on their way.
		if k%2 == 1 {
			for _, p := range plan {
				if p.at >= at && p.at < at+3*time.Second {
					at = p.at + randDur(rng, 20*time.Millisecond, 400*time.Millisecond)
					break
				}
			}
		}
		crashes = append(crashes, at)
	}
	t.Logf("receiver fails from %s for %s; crashes at %v", hookDownAt, chaosHookDown, crashes)

	// The flips run on their own clock; the crashes on this goroutine.
	flipDone := make(chan struct{})
	go func() {
		defer close(flipDone)
		for _, p := range plan {
			time.Sleep(time.Until(t0.Add(p.at)))
			flips.set(p.check, !flips.crit[p.check].Load())
		}
	}()
	hookTimer := time.AfterFunc(hookDownAt, func() { hook.setFail(true) })
	hookBack := time.AfterFunc(hookDownAt+chaosHookDown, func() { hook.setFail(false) })
	defer hookTimer.Stop()
	defer hookBack.Stop()

	for k, at := range crashes {
		time.Sleep(time.Until(t0.Add(at)))
		killedAt := time.Since(t0)
		ups[len(ups)-1].to = time.Now()
		s.kill9()
		time.Sleep(randDur(rng, 0, 1500*time.Millisecond)) // down for a moment
		s = startServer(t, cfgPath, port)
		ups = append(ups, uptime{from: time.Now()})
		t.Logf("crash %d at %s: back after %s", k+1, killedAt.Round(time.Millisecond), ups[len(ups)-1].from.Sub(ups[len(ups)-2].to).Round(time.Millisecond))
	}
	<-flipDone
	for i := 0; i < chaosChecks; i++ { // the end: everything recovers
		flips.set(i, false)
	}
	hook.setFail(false)

	// Settle: every check OK, every notification out of the outbox.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var pending []map[string]any
		s.get("/api/v1/notifications?status=pending&limit=1000", &pending)
		allOK := true
		for i := 0; i < chaosChecks; i++ {
			if c := s.check(fmt.Sprintf("chaos%d", i)); c.State != "OK" || c.StateType != "hard" {
				allOK = false
			}
		}
		if allOK && len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled within 60 s: all OK %v, %d notifications pending", allOK, len(pending))
		}
		time.Sleep(300 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // a last delivery's answer on its way
	ups[len(ups)-1].to = time.Now()
	published := sse.close()

	r := chaosReport{t: t, s: s, hook: hook, flips: flips, ups: ups, published: published, crashes: len(crashes)}
	r.stateChanges()
	r.incidentsAndNotifications()
	t.Logf("chaos: %d crashes (SIGKILL), %d hard state changes (%d seen live on the event stream), %d incidents, "+
		"%d notifications delivered (%d deliveries received, %d duplicates, %d answered 500), run %s",
		len(crashes), r.nChanges, len(published), r.nIncidents, r.nNotified, r.nReceived, r.nDup, r.nRefused, time.Since(began).Round(time.Second))
}

func randDur(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(rng.Int64N(int64(hi-lo)))
}

type chaosReport struct {
	t         *testing.T
	s         *server
	hook      *hookReceiver
	flips     *flipper
	ups       []uptime
	published map[int64]chaosEvent
	crashes   int

	history                         map[string][]chaosEvent
	nChanges, nIncidents, nNotified int
	nReceived, nDup, nRefused       int
}

// stateChanges: every published change is in the history; per check the
// history has no gap (each change starts where the previous one ended) and
// ends in the final state; every state the target held long enough while
// the server ran is the one the history shows for that time.
func (r *chaosReport) stateChanges() {
	t := r.t
	var all []chaosEvent
	r.s.get("/api/v1/events?hard=1&order=asc&after_id=0&limit=10000", &all)
	byID := map[int64]chaosEvent{}
	r.history = map[string][]chaosEvent{}
	for _, e := range all {
		byID[e.ID] = e
		r.history[e.Check] = append(r.history[e.Check], e)
	}
	for id, e := range r.published {
		got, ok := byID[id]
		if !ok {
			t.Errorf("lost state change: event %d (%s → %s at %s) was published, then not in the history", id, e.Check, e.State, e.Time.Format(time.StampMilli))
		} else if got.Check != e.Check || got.State != e.State {
			t.Errorf("event %d changed after a crash: published %+v, stored %+v", id, e, got)
		}
	}
	for i := 0; i < chaosChecks; i++ {
		name := fmt.Sprintf("chaos%d", i)
		evs := r.history[name]
		prev := "OK"
		for k, e := range evs {
			if e.PreviousState == "PENDING" && k == 0 {
				prev = e.State
				continue
			}
			if e.PreviousState != prev || e.State == prev {
				t.Errorf("%s: gap in the history at event %d: %s → %s after %s", name, e.ID, e.PreviousState, e.State, prev)
			}
			prev = e.State
			r.nChanges++
		}
		if prev != "OK" {
			t.Errorf("%s: the history ends in %s, the check is OK", name, prev)
		}
		r.groundTruth(name, i, evs)
	}
}

// groundTruth compares the flips with the history: a state the target held
// for 3 s or more while the server was up must be the check's hard state
// (its last hard change before then) at the end of that time.
func (r *chaosReport) groundTruth(name string, i int, evs []chaosEvent) {
	r.flips.mu.Lock()
	fl := append([]flip(nil), r.flips.flips[i]...)
	r.flips.mu.Unlock()
	for k, f := range fl {
		end := r.ups[len(r.ups)-1].to
		if k+1 < len(fl) {
			end = fl[k+1].at
		}
		end = end.Add(-500 * time.Millisecond) // a run that started just before the next flip
		var up *uptime
		for u := range r.ups {
			if !r.ups[u].from.After(end) && !r.ups[u].to.Before(end) {
				up = &r.ups[u]
			}
		}
		if up == nil {
			continue // the server was down at the end of this state
		}
		from := f.at
		if up.from.After(from) {
			from = up.from
		}
		if end.Sub(from) < 3*time.Second {
			continue // too short to be sure a run saw it
		}
		want := "OK"
		if f.crit {
			want = "CRITICAL"
		}
		got := "OK"
		for _, e := range evs {
			if e.Time.Before(end) {
				got = e.State
			}
		}
		if got != want {
			r.t.Errorf("%s: the target was %s from %s to %s with the server up, the history says %s", name, want,
				f.at.Format(time.StampMilli), end.Format(time.StampMilli), got)
		}
	}
}

// incidentsAndNotifications: one incident per problem, each with its
// problem and recovery notifications delivered; duplicates at most one per
// crash; deliveries in the order the outbox queued them.
func (r *chaosReport) incidentsAndNotifications() {
	t := r.t
	type received struct {
		id     int64
		kind   string
		inc    string
		check  string
		status int
	}
	r.hook.mu.Lock()
	msgs := append([]map[string]any(nil), r.hook.got...)
	ids := append([]string(nil), r.hook.ids...)
	r.nRefused = r.hook.hits - len(r.hook.got)
	r.hook.mu.Unlock()
	r.nReceived = len(msgs)

	var recv []received
	count := map[int64]int{}
	for k, m := range msgs {
		n, err := strconv.ParseInt(strings.TrimPrefix(ids[k], "mamori-"), 10, 64)
		if err != nil {
			t.Errorf("delivery id %q", ids[k])
			continue
		}
		count[n]++
		if count[n] > 1 {
			r.nDup++
			continue
		}
		recv = append(recv, received{id: n, kind: fmt.Sprint(m["kind"]), inc: fmt.Sprint(m["incident_id"]), check: fmt.Sprint(m["check"])})
	}
	if r.nDup > r.crashes {
		t.Errorf("%d duplicate deliveries for %d crashes (want at most one per crash): %v", r.nDup, r.crashes, count)
	}
	for k := 1; k < len(recv); k++ {
		if recv[k].id < recv[k-1].id {
			t.Errorf("order: delivery %d (%s %s) arrived after %d", recv[k].id, recv[k].check, recv[k].kind, recv[k-1].id)
		}
	}
	got := map[string]int{} // "incident/kind" → first deliveries
	for _, m := range recv {
		got[m.inc+"/"+m.kind]++
	}

	for i := 0; i < chaosChecks; i++ {
		name := fmt.Sprintf("chaos%d", i)
		var ins []apiIncident
		r.s.get("/api/v1/incidents?check="+name+"&limit=1000", &ins)
		problems := 0
		for _, e := range r.history[name] {
			if e.State == "CRITICAL" && e.PreviousState == "OK" {
				problems++
				if !e.Notify {
					t.Errorf("%s: problem event %d is not notified (flapping?)", name, e.ID)
				}
			}
		}
		if len(ins) != problems {
			t.Errorf("%s: %d incidents for %d problems in the history", name, len(ins), problems)
		}
		r.nIncidents += len(ins)
		for _, in := range ins {
			if in.Status != "resolved" {
				t.Errorf("%s: incident %d is %s after the check recovered", name, in.ID, in.Status)
			}
			for _, kind := range []string{"problem", "recovery"} {
				key := fmt.Sprintf("%d/%s", in.ID, kind)
				if got[key] != 1 {
					t.Errorf("%s: incident %d: %d %s notifications received, want 1", name, in.ID, got[key], kind)
				}
			}
		}
	}
	var failed []map[string]any
	r.s.get("/api/v1/notifications?status=failed&limit=1000", &failed)
	if len(failed) != 0 {
		t.Errorf("%d notifications failed: %v", len(failed), failed)
	}
	var delivered []map[string]any
	r.s.get("/api/v1/notifications?status=delivered&limit=1000", &delivered)
	r.nNotified = len(delivered)
	if len(delivered) != len(recv) {
		t.Errorf("%d notifications marked delivered, the receiver has %d distinct ones", len(delivered), len(recv))
	}
}
