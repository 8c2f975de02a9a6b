package logcheck

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
)

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func newChecker(t *testing.T, s Spec) check.Checker {
	t.Helper()
	if s.Missing == "" {
		s.Missing = "unknown"
	}
	if len(s.WarningPatterns)+len(s.CriticalPatterns) == 0 {
		s.WarningPatterns = []string{`WARN`}
		s.CriticalPatterns = []string{`ERROR|FATAL`}
	}
	if s.MaxLines == 0 {
		s.MaxLines = DefaultMaxLines
	}
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	c, err := s.New(check.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type step struct {
	do   func(t *testing.T, dir string)
	want check.Status
	out  string // substring of the output
	long string // substring of the long output
}

func TestScenarios(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses inodes and renames of open files")
	}
	app := func(dir string) string { return filepath.Join(dir, "app.log") }
	write := func(name, text string) func(*testing.T, string) {
		return func(t *testing.T, dir string) { appendTo(t, filepath.Join(dir, name), text) }
	}
	tests := []struct {
		name  string
		spec  func(dir string) Spec
		setup func(t *testing.T, dir string)
		steps []step
	}{
		{
			name:  "starts at the end, alerts once",
			spec:  func(d string) Spec { return Spec{Files: []string{app(d)}} },
			setup: write("app.log", "old ERROR line\n"),
			steps: []step{
				{nil, check.OK, "no new matching lines in 1 file (0 new lines)", ""},
				{write("app.log", "fine\nERROR disk on fire\nWARN slow\n"), check.Critical, "1 critical, 1 warning lines: " + "", "WARNING"},
				{nil, check.OK, "(0 new lines)", ""},
				{write("app.log", "WARN again\n"), check.Warning, "0 critical, 1 warning line: ", ""},
			},
		},
		{
			name:  "partial line waits for its newline",
			spec:  func(d string) Spec { return Spec{Files: []string{app(d)}} },
			setup: write("app.log", ""),
			steps: []step{
				{nil, check.OK, "(0 new lines)", ""},
				{write("app.log", "ERROR half"), check.OK, "(0 new lines)", ""},
				{write("app.log", " done\n"), check.Critical, "ERROR half done", ""},
			},
		},
		{
			name:  "rotation by rename: rest of the old file, then the new one",
			spec:  func(d string) Spec { return Spec{Files: []string{app(d)}} },
			setup: write("app.log", "start\n"),
			steps: []step{
				{nil, check.OK, "", ""},
				{func(t *testing.T, d string) {
					appendTo(t, app(d), "ERROR before rotation\n")
					if err := os.Rename(app(d), app(d)+".1"); err != nil {
						t.Fatal(err)
					}
					appendTo(t, app(d), "WARN after rotation\n")
				}, check.Critical, "1 critical, 1 warning lines: " + "", "app.log.1: ERROR before rotation"},
				{nil, check.OK, "", ""},
				{write("app.log", "ERROR new file\n"), check.Critical, "ERROR new file", ""},
			},
		},
		{
			name:  "rotation with the path missing for a while",
			spec:  func(d string) Spec { return Spec{Files: []string{app(d)}} },
			setup: write("app.log", "start\n"),
			steps: []step{
				{nil, check.OK, "", ""},
				{func(t *testing.T, d string) {
					appendTo(t, app(d), "ERROR late\n")
					os.Rename(app(d), app(d)+".1")
				}, check.Unknown, "no log file matches", ""},
				{write("app.log", "WARN fresh\n"), check.Critical, "ERROR late", "WARN fresh"},
			},
		},
		{
			name:  "truncation (copytruncate) reads from the start",
			spec:  func(d string) Spec { return Spec{Files: []string{app(d)}} },
			setup: write("app.log", "a long line that makes the file bigger than what follows\n"),
			steps: []step{
				{nil, check.OK, "", ""},
				{func(t *testing.T, d string) {
					os.Truncate(app(d), 0)
					appendTo(t, app(d), "FATAL x\n")
				}, check.Critical, "FATAL x", ""},
			},
		},
		{
			// app-YYYYMMDD.log: the day's first lines are in the file when the
			// glob first finds it; files present at the first run start at
			// their end.
			name: "glob: a file created after the first run is read from its start",
			spec: func(d string) Spec { return Spec{Files: []string{filepath.Join(d, "app-*.log")}} },
			setup: func(t *testing.T, d string) {
				appendTo(t, filepath.Join(d, "app-20261201.log"), "ERROR old\n")
			},
			steps: []step{
				{nil, check.OK, "no new matching lines in 1 file", ""},
				{write("app-20261202.log", "ERROR first line of the day\n"), check.Critical, "app-20261202.log: ERROR first line of the day", ""},
				{nil, check.OK, "in 2 files", ""},
				{write("app-20261202.log", "ERROR in b\n"), check.Critical, "app-20261202.log: ERROR in b", ""},
			},
		},
		{
			// copytruncate, and the file grows past the old offset before the
			// next scan: the size alone does not show it, the first bytes do.
			name:  "copytruncate then growth past the old offset",
			spec:  func(d string) Spec { return Spec{Files: []string{app(d)}} },
			setup: write("app.log", "2026-12-01 23:59:58 start\n"),
			steps: []step{
				{nil, check.OK, "", ""},
				{func(t *testing.T, d string) {
					if err := os.Truncate(app(d), 0); err != nil {
						t.Fatal(err)
					}
					appendTo(t, app(d), "2026-12-02 00:00:01 ERROR right after the rotation\n2026-12-02 00:00:02 more\n")
				}, check.Critical, "ERROR right after the rotation", ""},
				{nil, check.OK, "(0 new lines)", ""},
			},
		},
		{
			// A deleted file's inode reused by a new file under the same name.
			name:  "same inode, other content",
			spec:  func(d string) Spec { return Spec{Files: []string{app(d)}} },
			setup: write("app.log", "first file, line one\n"),
			steps: []step{
				{nil, check.OK, "", ""},
				{func(t *testing.T, d string) {
					if err := os.WriteFile(app(d), []byte("second file: ERROR at its start and long enough\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				}, check.Critical, "ERROR at its start", ""},
			},
		},
		{
			name: "glob with from_start reads new files whole",
			spec: func(d string) Spec { return Spec{Files: []string{filepath.Join(d, "*.log")}, FromStart: true} },
			setup: func(t *testing.T, d string) {
				appendTo(t, filepath.Join(d, "a.log"), "ERROR old\n")
			},
			steps: []step{
				{nil, check.Critical, "a.log: ERROR old", ""},
				{write("b.log", "WARN b\n"), check.Warning, "b.log: WARN b", ""},
				{nil, check.OK, "", ""},
			},
		},
		{
			name: "include and exclude",
			spec: func(d string) Spec {
				return Spec{Files: []string{app(d)}, Include: []string{`^nginx`}, Exclude: []string{`healthz`}}
			},
			setup: write("app.log", ""),
			steps: []step{
				{nil, check.OK, "", ""},
				{write("app.log", "postfix ERROR\nnginx ERROR /healthz\nnginx WARN upstream slow\n"), check.Warning, "nginx WARN upstream slow", ""},
			},
		},
		{
			name:  "matching lines are bounded",
			spec:  func(d string) Spec { return Spec{Files: []string{app(d)}, MaxLines: 3} },
			setup: write("app.log", ""),
			steps: []step{
				{nil, check.OK, "", ""},
				{func(t *testing.T, d string) {
					var b strings.Builder
					for i := 0; i < 50; i++ {
						fmt.Fprintf(&b, "WARN %d %s\n", i, strings.Repeat("x", 1000))
					}
					b.WriteString("ERROR last\n")
					appendTo(t, app(d), b.String())
				}, check.Critical, "1 critical, 50 warning lines: ", "CRITICAL"},
			},
		},
		{
			name:  "missing file",
			spec:  func(d string) Spec { return Spec{Files: []string{filepath.Join(d, "nope.log")}, Missing: "critical"} },
			steps: []step{{nil, check.Critical, "no log file matches", ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			spec := tt.spec(dir)
			spec.StateFile = filepath.Join(t.TempDir(), "state.json")
			c := newChecker(t, spec)
			k, _ := check.Lookup("log")
			for i, st := range tt.steps {
				if st.do != nil {
					st.do(t, dir)
				}
				r := check.Run(context.Background(), k, c, 0)
				if r.Status != st.want || !strings.Contains(r.Output, st.out) || !strings.Contains(r.Long, st.long) {
					t.Fatalf("step %d: got %v %q\nlong %q\nwant %v with %q / %q", i, r.Status, r.Output, r.Long, st.want, st.out, st.long)
				}
				if st.want == check.Critical && strings.Contains(st.long, "CRITICAL") && !strings.Contains(r.Long, "… and 48 more matching lines") {
					t.Fatalf("long: %q", r.Long)
				}
				if len(r.Output) > 1100 || len(r.Long) > 4000 {
					t.Fatalf("step %d: output not bounded: %d/%d bytes", i, len(r.Output), len(r.Long))
				}
			}
		})
	}
}

// A new checker on the same state file (an agent restart) never re-alerts
// old lines and still sees lines written while it was down.
func TestRestartKeepsOffsets(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	state := filepath.Join(dir, "state", "log.json")
	appendTo(t, log, "ERROR before first start\n")
	spec := Spec{Files: []string{log}, StateFile: state}
	k, _ := check.Lookup("log")

	c1 := newChecker(t, spec)
	if r := check.Run(context.Background(), k, c1, 0); r.Status != check.OK {
		t.Fatalf("first run: %v %q", r.Status, r.Output)
	}
	appendTo(t, log, "ERROR seen by the first agent\n")
	if r := check.Run(context.Background(), k, c1, 0); r.Status != check.Critical {
		t.Fatalf("first agent: %v %q", r.Status, r.Output)
	}
	// Restart.
	c2 := newChecker(t, spec)
	if r := check.Run(context.Background(), k, c2, 0); r.Status != check.OK {
		t.Fatalf("after restart, old line re-alerted: %v %q", r.Status, r.Output)
	}
	// Down, a line is written, restart: it is seen once.
	appendTo(t, log, "WARN written while the agent was down\n")
	c3 := newChecker(t, spec)
	if r := check.Run(context.Background(), k, c3, 0); r.Status != check.Warning || !strings.Contains(r.Output, "written while") {
		t.Fatalf("line written while down: %v %q", r.Status, r.Output)
	}
	if r := check.Run(context.Background(), k, c3, 0); r.Status != check.OK {
		t.Fatalf("re-alerted: %v %q", r.Status, r.Output)
	}
	// A damaged state file starts over at the end, never crashes.
	os.WriteFile(state, []byte("{garbage"), 0o600)
	appendTo(t, log, "ERROR x\n")
	c4 := newChecker(t, spec)
	if r := check.Run(context.Background(), k, c4, 0); r.Status != check.OK {
		t.Fatalf("damaged state: %v %q", r.Status, r.Output)
	}
}

func TestSetStateFile(t *testing.T) {
	s := &Spec{}
	s.SetStateFile("/a")
	s.SetStateFile("/b")
	if s.StateFile != "/a" {
		t.Fatal(s.StateFile)
	}
	s2 := &Spec{StateFile: "/mine"}
	s2.SetStateFile("/agent")
	if s2.StateFile != "/mine" {
		t.Fatal(s2.StateFile)
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		spec Spec
		bad  string
	}{
		{Spec{Files: []string{"/var/log/x"}, CriticalPatterns: []string{"x"}, Missing: "unknown", MaxLines: 10}, ""},
		{Spec{CriticalPatterns: []string{"x"}, Missing: "ok"}, "files"},
		{Spec{Files: []string{"/x"}, Missing: "ok"}, "critical_patterns"},
		{Spec{Files: []string{"/x"}, WarningPatterns: []string{"("}, Missing: "ok"}, "warning_patterns"},
		{Spec{Files: []string{"/x["}, WarningPatterns: []string{"a"}, Missing: "ok"}, "files"},
		{Spec{Files: []string{"/x"}, WarningPatterns: []string{"a"}, Missing: "maybe"}, "missing"},
		{Spec{Files: []string{"/x"}, WarningPatterns: []string{"a"}, Missing: "ok", MaxLines: 1000}, "max_lines"},
	} {
		errs := tt.spec.Validate()
		if (tt.bad == "") != (len(errs) == 0) || (tt.bad != "" && errs[0].Field != tt.bad) {
			t.Errorf("%+v: %v", tt.spec, errs)
		}
	}
}
