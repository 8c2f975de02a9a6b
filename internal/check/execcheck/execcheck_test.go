//go:build unix

package execcheck

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// script writes an executable shell script into dir and returns its path.
func script(t testing.TB, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t testing.TB, s *Spec, timeout time.Duration) check.Result {
	t.Helper()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("Validate: %v", errs)
	}
	c, err := s.New(check.Env{})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := check.Lookup("exec")
	return check.Run(context.Background(), k, c, timeout)
}

func TestPlugins(t *testing.T) {
	dir := t.TempDir()
	dummy := script(t, dir, "check_dummy", `echo "$2"; exit $1`)
	perf := script(t, dir, "check_perf", `echo "DISK OK - free space: / 50% | /=50%;80;90;0;100 'inodes used'=12"`)
	long := script(t, dir, "check_long", `cat <<'EOF'
DISK WARNING - / 85% | /=85%;80;90
/boot 20%
/var 60% | /boot=20%;80;90
/var=60%;80;90
EOF
exit 1`)
	stderr := script(t, dir, "check_stderr", `echo "CRITICAL - oops" >&2; exit 2`)
	envdir := script(t, dir, "check_env", `echo "OK - FOO=$FOO BAR=$BAR in $(pwd)"`)
	killed := script(t, dir, "check_killed", `echo "about to die"; kill -9 $$`)
	big := script(t, dir, "check_big", `echo "OK - big"; i=0; while [ $i -lt 3000 ]; do echo "0123456789012345678901234567890123456789"; i=$((i+1)); done`)
	noexec := filepath.Join(dir, "not_executable")
	os.WriteFile(noexec, []byte("#!/bin/sh\necho hi\n"), 0o644)
	empty := script(t, dir, "check_empty", `exit 0`)

	tests := []struct {
		name   string
		spec   Spec
		status check.Status
		output string // exact
		perf   string // PerfString
		long   string // substring
	}{
		{"exit 0", Spec{Command: []string{dummy, "0", "OK - all fine"}}, check.OK, "OK - all fine", "", ""},
		{"exit 1", Spec{Command: []string{dummy, "1", "WARNING - hmm"}}, check.Warning, "WARNING - hmm", "", ""},
		{"exit 2", Spec{Command: []string{dummy, "2", "CRITICAL - down"}}, check.Critical, "CRITICAL - down", "", ""},
		{"exit 3", Spec{Command: []string{dummy, "3", "UNKNOWN - what"}}, check.Unknown, "UNKNOWN - what", "", ""},
		{"exit 5", Spec{Command: []string{dummy, "5", "weird"}}, check.Unknown, "exit code 5: weird", "", ""},
		{"exit 127", Spec{Command: []string{"/bin/sh", "-c", "nosuchcommand-mamori"}}, check.Unknown, "exit code 127: /bin/sh: 1: nosuchcommand-mamori: not found", "", ""},
		{"perfdata", Spec{Command: []string{perf}}, check.OK, "DISK OK - free space: / 50%", "/=50%;80;90;0;100 'inodes used'=12", ""},
		{"long output and perfdata lines", Spec{Command: []string{long}}, check.Warning, "DISK WARNING - / 85%", "/=85%;80;90 /boot=20%;80;90 /var=60%;80;90", "/boot 20%\n/var 60% "},
		{"stderr captured", Spec{Command: []string{stderr}}, check.Critical, "CRITICAL - oops", "", ""},
		{"env and dir", Spec{Command: []string{envdir}, Env: map[string]string{"FOO": "x y", "BAR": "2"}, Dir: "/tmp"}, check.OK, "OK - FOO=x y BAR=2 in /tmp", "", ""},
		{"killed by a signal", Spec{Command: []string{killed}}, check.Unknown, "plugin " + killed + ": signal: killed: about to die", "", ""},
		{"output bounded", Spec{Command: []string{big}}, check.OK, "OK - big", "", "(output truncated at 64 KiB)"},
		{"not found", Spec{Command: []string{filepath.Join(dir, "missing")}}, check.Unknown, "cannot run plugin " + filepath.Join(dir, "missing") + ": no such file or directory", "", ""},
		{"not executable", Spec{Command: []string{noexec}}, check.Unknown, "cannot run plugin " + noexec + ": permission denied", "", ""},
		{"no output", Spec{Command: []string{empty}}, check.OK, "(no output returned from plugin)", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.spec
			r := run(t, &s, 10*time.Second)
			if r.Status != tt.status || r.Output != tt.output {
				t.Fatalf("got %s %q, want %s %q", r.Status, r.Output, tt.status, tt.output)
			}
			if got := check.PerfString(r.Perf); got != tt.perf {
				t.Errorf("perf %q, want %q", got, tt.perf)
			}
			if !strings.Contains(r.Long, tt.long) {
				t.Errorf("long %q, want it to contain %q", r.Long, tt.long)
			}
		})
	}
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil // no /proc: best effort
	}
	// pid (comm) STATE ...
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func readPid(t *testing.T, f string) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		b, err := os.ReadFile(f)
		if err == nil && strings.TrimSpace(string(b)) != "" {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never written", f)
	return 0
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "child.pid")
	// The plugin forks a sleeping child (and a grandchild via a subshell) and hangs.
	p := script(t, dir, "check_hang", `(sleep 300; echo never) &
echo $! > `+pidfile+`
echo "partial line"
sleep 300`)
	start := time.Now()
	r := run(t, &Spec{Command: []string{p}}, 300*time.Millisecond)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s", d)
	}
	// The time is the deadline's distance from the plugin's start: 300 ms,
	// or a few less when the start was taken late on a loaded machine.
	if r.Status != check.Critical || !regexp.MustCompile(`timed out after (2[5-9]\d|300)ms; process group killed$`).MatchString(r.Output) {
		t.Fatalf("got %s %q", r.Status, r.Output)
	}
	if r.Long != "partial output: partial line" {
		t.Errorf("long %q", r.Long)
	}
	child := readPid(t, pidfile)
	deadline := time.Now().Add(2 * time.Second)
	for alive(child) {
		if time.Now().After(deadline) {
			syscall.Kill(child, syscall.SIGKILL)
			t.Fatalf("child %d outlived the plugin's timeout", child)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestChildHoldingOutputDoesNotHang(t *testing.T) {
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "child.pid")
	// The plugin exits at once but leaves a child with its stdout open.
	p := script(t, dir, "check_leaves_child", `sleep 30 &
echo $! > `+pidfile+`
echo "OK - done | x=1"
exit 0`)
	start := time.Now()
	r := run(t, &Spec{Command: []string{p}}, 20*time.Second)
	child := readPid(t, pidfile)
	defer syscall.Kill(child, syscall.SIGKILL)
	if d := time.Since(start); d > waitDelay+2*time.Second {
		t.Fatalf("took %s", d)
	}
	if r.Status != check.OK || r.Output != "OK - done" || check.PerfString(r.Perf) != "x=1" {
		t.Fatalf("got %s %q %v", r.Status, r.Output, r.Perf)
	}
}

func TestParseOutput(t *testing.T) {
	tests := []struct {
		in, out, perf, long string
	}{
		{"OK - fine\n", "OK - fine", "", ""},
		{"OK - fine | a=1s;2;3;0", "OK - fine", "a=1s;2;3;0", ""},
		{"OK | a=1 b=2\r\nline two\r\n", "OK", "a=1 b=2", "line two"},
		{"OK\nl1\nl2 | p2=2\np3=3 p4=4\n", "OK", "p2=2 p3=3 p4=4", "l1\nl2 "},
		{"OK | a=1 bad", "OK", "a=1", "unparsable perfdata: bad"},
		{"", "(no output returned from plugin)", "", ""},
		{"  \n\n", "(no output returned from plugin)", "", ""},
	}
	for _, tt := range tests {
		r := ParseOutput(tt.in)
		if r.Output != tt.out || check.PerfString(r.Perf) != tt.perf || r.Long != tt.long {
			t.Errorf("%q: got %q %q %q, want %q %q %q", tt.in, r.Output, check.PerfString(r.Perf), r.Long, tt.out, tt.perf, tt.long)
		}
	}
}

func TestBoundedBuffer(t *testing.T) {
	b := &boundedBuffer{max: 10}
	for _, s := range []string{"hello", " world", "!"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatal(n, err)
		}
	}
	if b.String() != "hello worl" || !b.Truncated() {
		t.Fatalf("%q %v", b.String(), b.Truncated())
	}
}

func TestKindAndArgs(t *testing.T) {
	k, ok := check.Lookup("exec")
	if !ok || k.Label != "" || k.Timeout != 60*time.Second || k.Args == nil {
		t.Fatalf("%+v", k)
	}
	s := k.New()
	if errs := s.Validate(); len(errs) != 1 || errs[0].Field != "command" {
		t.Fatalf("%v", errs)
	}
	if err := k.Args(s, nil); err == nil {
		t.Fatal("no error for empty args")
	}
	dir := t.TempDir()
	dummy := script(t, dir, "check_dummy", `echo "WARNING: $2"; exit $1`)
	if err := k.Args(s, []string{dummy, "1", "hi"}); err != nil {
		t.Fatal(err)
	}
	r := run(t, s.(*Spec), 5*time.Second)
	if r.Status != check.Warning || r.PluginLine() != "WARNING: hi" {
		t.Fatalf("%s %q", r.Status, r.PluginLine())
	}

	bad := &Spec{Command: []string{""}, Env: map[string]string{"A=B": "x"}, Dir: "/nonexistent-mamori"}
	var fields []string
	for _, e := range bad.Validate() {
		fields = append(fields, e.Field)
	}
	if strings.Join(fields, " ") != "command env dir" {
		t.Fatalf("%v", bad.Validate())
	}
}
