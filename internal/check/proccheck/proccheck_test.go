package proccheck

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// startChild starts a copy of sleep under a unique name and returns it.
func startChild(t *testing.T) (*exec.Cmd, string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("uses /proc and sleep")
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	src, err := os.ReadFile(sleep)
	if err != nil {
		t.Skip(err)
	}
	name := fmt.Sprintf("mproc%d", os.Getpid()%100000)
	bin := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(bin, src, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, name
}

func run(t *testing.T, s Spec) check.Result {
	t.Helper()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("validate: %v", errs)
	}
	c, err := s.New(check.Env{})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := check.Lookup("process")
	return check.Run(context.Background(), k, c, 10*time.Second)
}

func TestRealChild(t *testing.T) {
	cmd, name := startChild(t)
	me, _ := user.Current()
	pidfile := filepath.Join(t.TempDir(), "x.pid")
	os.WriteFile(pidfile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644)
	badPidfile := filepath.Join(t.TempDir(), "bad.pid")
	os.WriteFile(badPidfile, []byte("nope"), 0o644)

	running := []struct {
		name string
		spec Spec
		want check.Status
		out  string
	}{
		{"by name", Spec{Name: name, Min: 1}, check.OK, "1 process with name " + name},
		{"by cmdline", Spec{CmdlineRegex: name + ` 300$`, Min: 1}, check.OK, "1 process with command line"},
		{"by pidfile", Spec{Pidfile: pidfile, Min: 1}, check.OK, fmt.Sprintf("(pid %d)", cmd.Process.Pid)},
		{"by user name", Spec{Name: name, User: me.Username, Min: 1}, check.OK, "user " + me.Username},
		{"by uid", Spec{Name: name, User: me.Uid, Min: 1}, check.OK, "1 process"},
		{"wrong user", Spec{Name: name, User: "4242424", Min: 1}, check.Critical, "no process with name"},
		{"too few", Spec{Name: name, Min: 2}, check.Critical, "1 process with name " + name + ", need at least 2"},
		{"min 0 max 1", Spec{Name: name, Min: 0, Max: 1}, check.OK, "1 process"},
		{"pidfile and wrong name", Spec{Pidfile: pidfile, Name: "other", Min: 1}, check.Critical, "name is \"" + name + "\", not \"other\""},
		{"bad pidfile", Spec{Pidfile: badPidfile, Min: 1}, check.Critical, "does not hold a pid"},
		{"missing pidfile", Spec{Pidfile: pidfile + ".no", Min: 1}, check.Critical, "pidfile"},
	}
	for _, tt := range running {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.spec)
			if r.Status != tt.want || !strings.Contains(r.Output, tt.out) {
				t.Fatalf("got %v %q, want %v containing %q", r.Status, r.Output, tt.want, tt.out)
			}
		})
	}

	// A second instance exceeds max 1.
	cmd2 := exec.Command(cmd.Path, "300")
	if err := cmd2.Start(); err != nil {
		t.Fatal(err)
	}
	r := run(t, Spec{Name: name, Min: 1, Max: 1})
	if r.Status != check.Warning || !strings.Contains(r.Output, "2 processes with name "+name+", more than max 1") {
		t.Fatalf("max: %v %q", r.Status, r.Output)
	}
	_ = cmd2.Process.Kill()
	_ = cmd2.Wait()

	// Killed: CRITICAL.
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	for _, s := range []Spec{{Name: name, Min: 1}, {Pidfile: pidfile, Min: 1}} {
		r := run(t, s)
		if r.Status != check.Critical || !strings.Contains(r.Output, "no process with") {
			t.Fatalf("after kill: %v %q", r.Status, r.Output)
		}
	}
}

func TestZombieNotCounted(t *testing.T) {
	cmd, name := startChild(t)
	_ = cmd.Process.Kill() // not reaped yet: a zombie until Wait
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := run(t, Spec{Name: name, Min: 1})
		if r.Status == check.Critical {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("zombie still counted: %q", r.Output)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r := run(t, Spec{Name: name, Min: 1, Zombies: true})
	if r.Status != check.OK {
		t.Fatalf("zombies: true: %v %q", r.Status, r.Output)
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		spec Spec
		bad  string
	}{
		{Spec{Name: "x", Min: 1}, ""},
		{Spec{Min: 1}, "process"},
		{Spec{CmdlineRegex: "(", Min: 1}, "cmdline_regex"},
		{Spec{Name: "x", Min: 3, Max: 2}, "max"},
		{Spec{Name: "x", Min: -1}, "min"},
	} {
		errs := tt.spec.Validate()
		if (tt.bad == "") != (len(errs) == 0) || (tt.bad != "" && errs[0].Field != tt.bad) {
			t.Errorf("%+v: %v", tt.spec, errs)
		}
	}
	k, _ := check.Lookup("process")
	if sp := k.New().(*Spec); sp.Min != 1 || k.Scope != check.ScopeAgent {
		t.Fatal("default min must be 1 and scope agent")
	}
}
