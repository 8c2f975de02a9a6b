package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/server/specs"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/store/sqlite"
)

// stubSpec is a test check type whose verdict the test controls.
type stubSpec struct {
	Target string `yaml:"target"`
}

func (s *stubSpec) Validate() []check.FieldError { return nil }
func (s *stubSpec) New(check.Env) (check.Checker, error) {
	return check.CheckerFunc(func(context.Context) check.Result {
		return check.Result{Status: verdicts.get(s.Target), Output: "stub"}
	}), nil
}

type verdictMap struct {
	mu sync.Mutex
	m  map[string]check.Status
}

func (v *verdictMap) get(k string) check.Status {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.m[k]
}

var verdicts = &verdictMap{m: map[string]check.Status{}}

func init() {
	check.Register(&check.Kind{Name: "stub", Label: "STUB", Timeout: time.Second, New: func() check.Spec { return &stubSpec{} }})
}

// failingStore fails Commit while fail is set.
type failingStore struct {
	store.Store
	mu   sync.Mutex
	fail bool
	kept []bool // Write.Kept of every write handed to Commit
}

func (f *failingStore) Commit(ctx context.Context, ws []store.Write) ([]int64, error) {
	f.mu.Lock()
	fail := f.fail
	for _, w := range ws {
		f.kept = append(f.kept, w.Kept)
	}
	f.mu.Unlock()
	if fail {
		return nil, errors.New("disk full")
	}
	return f.Store.Commit(ctx, ws)
}

func newEngine(t *testing.T, yaml string) (*Engine, *failingStore, context.CancelFunc) {
	t.Helper()
	cfg, err := config.Parse("t.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fs := &failingStore{Store: st}
	e, err := New(context.Background(), specs.Plan(cfg), fs, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; st.Close() })
	return e, fs, cancel
}

const twoChecks = `
checks:
  - {name: parent, type: stub, target: p, interval: 1h, attempts: 1}
  - {name: child, type: stub, target: c, interval: 1h, attempts: 2, depends_on: [parent]}
`

func TestFailedCommitDoesNotAdvanceState(t *testing.T) {
	e, fs, _ := newEngine(t, twoChecks)
	ctx := context.Background()
	r := check.Result{Status: check.Critical, Output: "down", Time: time.Now()}
	fs.mu.Lock()
	fs.fail = true
	fs.mu.Unlock()
	if _, err := e.Record(ctx, "parent", r); err == nil {
		t.Fatal("Record succeeded although the commit failed")
	}
	if v, _ := e.Get("parent"); v.Status != check.OK || !v.Pending() {
		t.Fatalf("state advanced without a commit: %+v", v.CheckState)
	}
	fs.mu.Lock()
	fs.fail = false
	fs.mu.Unlock()
	tr, err := e.Record(ctx, "parent", r)
	if err != nil || tr == nil || !tr.Hard {
		t.Fatalf("after the store recovered: %+v %v", tr, err)
	}
}

// A result that changes nothing but the last result (OK after a full
// history of OKs, same poller) is marked Kept, so the store does not
// rewrite the check's state row; what is loaded back is still the last
// result.
func TestSteadyResultsAreKept(t *testing.T) {
	e, fs, _ := newEngine(t, twoChecks)
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour)
	n := state.HistoryLen
	record := func(i int, poller string) {
		t.Helper()
		r := check.Result{Status: check.OK, Output: fmt.Sprintf("ok %d", i), Time: t0.Add(time.Duration(i) * time.Second)}
		if _, err := e.RecordFrom(ctx, "parent", r, poller); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i <= n+1; i++ {
		record(i, "")
	}
	record(n+2, "zone-a") // another poller: its name goes to the row
	record(n+3, "zone-a")
	fs.mu.Lock()
	kept := slices.Clone(fs.kept)
	fs.mu.Unlock()
	want := make([]bool, n+4)
	want[n], want[n+1], want[n+3] = true, true, true
	if !slices.Equal(kept, want) {
		t.Fatalf("Kept of the writes: %v, want %v", kept, want)
	}
	saved, err := fs.LoadStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := saved["parent"]; got.Output != fmt.Sprintf("ok %d", n+3) || got.Poller != "zone-a" || !got.LastCheck.Equal(t0.Add(time.Duration(n+3)*time.Second).UTC().Truncate(time.Millisecond)) {
		t.Fatalf("loaded back: %+v", got)
	}
}

func TestChildOfDownParentIsUnreachable(t *testing.T) {
	e, _, _ := newEngine(t, twoChecks)
	ctx := context.Background()
	now := time.Now()
	if _, err := e.Record(ctx, "parent", check.Result{Status: check.Critical, Time: now}); err != nil {
		t.Fatal(err)
	}
	var tr *state.Transition
	for i := 1; i <= 2; i++ {
		var err error
		tr, err = e.Record(ctx, "child", check.Result{Status: check.Critical, Time: now.Add(time.Duration(i) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
	}
	if tr == nil || !tr.Hard || tr.Notify || !tr.Unreachable {
		t.Fatalf("child's hard transition under a down parent: %+v", tr)
	}
}

func TestReloadKeepsStateAndRefusesUnbuildable(t *testing.T) {
	e, _, _ := newEngine(t, twoChecks)
	ctx := context.Background()
	if _, err := e.Record(ctx, "child", check.Result{Status: check.Warning, Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("t.yaml", []byte(twoChecks+"  - {name: third, type: stub, target: x}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Reload(specs.Plan(cfg)); err != nil {
		t.Fatal(err)
	}
	if v, ok := e.Get("child"); !ok || v.Status != check.Warning || v.Attempt != 1 || v.State.Type != state.Soft {
		t.Fatalf("state lost on reload: %+v", v)
	}
	if _, ok := e.Get("third"); !ok {
		t.Fatal("new check not added")
	}
	cfg2, _ := config.Parse("t.yaml", []byte("checks:\n  - {name: parent, type: stub, target: p}\n"))
	if err := e.Reload(specs.Plan(cfg2)); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.Get("child"); ok {
		t.Fatal("removed check still present")
	}
	if len(e.Snapshot()) != 1 {
		t.Fatalf("snapshot %d checks", len(e.Snapshot()))
	}
}

func TestScheduledRunsGoThroughTheMachine(t *testing.T) {
	verdicts.mu.Lock()
	verdicts.m["run"] = check.Critical
	verdicts.mu.Unlock()
	e, _, _ := newEngine(t, "checks:\n  - {name: r, type: stub, target: run, interval: 1s, attempts: 2}\n")
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if v, _ := e.Get("r"); v.State.Type == state.Hard && v.Status == check.Critical {
			if v.Output != "STUB CRITICAL - stub" {
				t.Fatalf("output %q", v.Output)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	v, _ := e.Get("r")
	t.Fatalf("not hard CRITICAL after runs: %+v", v.CheckState)
}
