package servicecheck

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
)

func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func runSpec(t *testing.T, s Spec, timeout time.Duration) check.Result {
	t.Helper()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("validate: %v", errs)
	}
	c, err := s.New(check.Env{})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := check.Lookup("service")
	return check.Run(context.Background(), k, c, timeout)
}

func TestStatusCommand(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("shell scripts")
	}
	dir := t.TempDir()
	flag := filepath.Join(dir, "running")
	status := script(t, dir, "status.sh", `if [ -e "`+flag+`" ]; then echo "myapp (pid 42) is running"; exit 0; fi; echo "myapp is stopped"; exit 3`)
	slow := script(t, dir, "slow.sh", "sleep 30")

	tests := []struct {
		name    string
		spec    Spec
		setup   func()
		want    check.Status
		out     string
		timeout time.Duration
	}{
		{"running", Spec{Name: "myapp", StatusCommand: []string{status}}, func() { os.WriteFile(flag, nil, 0o644) }, check.OK, "SERVICE OK - myapp is running: myapp (pid 42) is running", 0},
		{"stopped", Spec{Name: "myapp", StatusCommand: []string{status}}, func() { os.Remove(flag) }, check.Critical, "myapp is not running (exit 3): myapp is stopped", 0},
		{"manager command without name", Spec{Manager: "command", StatusCommand: []string{status}}, nil, check.Critical, "status.sh is not running", 0},
		{"missing program", Spec{Name: "x", StatusCommand: []string{filepath.Join(dir, "nope")}}, nil, check.Unknown, "cannot run status command", 0},
		{"timeout kills", Spec{Name: "slow", StatusCommand: []string{slow}}, nil, check.Critical, "slow: status command did not answer", 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			start := time.Now()
			r := runSpec(t, tt.spec, tt.timeout)
			if r.Status != tt.want || !strings.Contains(r.Output, tt.out) {
				t.Fatalf("got %v %q, want %v containing %q", r.Status, r.Output, tt.want, tt.out)
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("took %s", time.Since(start))
			}
		})
	}
}

func TestSysV(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("shell scripts")
	}
	dir := t.TempDir()
	oldInit, oldSD := initDir, systemdRunDir
	initDir, systemdRunDir = dir, filepath.Join(dir, "no-systemd")
	t.Cleanup(func() { initDir, systemdRunDir = oldInit, oldSD })
	script(t, dir, "httpd", `case "$1" in status) echo "httpd (pid 7) is running..."; exit 0;; esac; exit 2`)
	script(t, dir, "named", `echo "named is stopped"; exit 3`)
	if Detect() != "sysv" {
		t.Fatalf("detect: %q", Detect())
	}
	for _, tt := range []struct {
		name string
		want check.Status
		out  string
	}{
		{"httpd", check.OK, "httpd is running: httpd (pid 7) is running..."},
		{"named", check.Critical, "named is not running (exit 3)"},
		{"vsftpd", check.Critical, "no init script"},
	} {
		r := runSpec(t, Spec{Name: tt.name, Manager: "auto"}, 0)
		if r.Status != tt.want || !strings.Contains(r.Output, tt.out) {
			t.Errorf("%s: got %v %q", tt.name, r.Status, r.Output)
		}
	}
}

func TestSystemdFake(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("shell scripts")
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "run"), 0o755)
	fake := script(t, dir, "systemctl", `
if [ "$1" = "is-active" ]; then
  case "$3" in
    sshd.service) echo active; exit 0;;
    crond.service) echo failed; exit 3;;
    *) echo inactive; exit 3;;
  esac
fi
if [ "$1" = "show" ]; then
  case "$5" in ghost.service) echo not-found;; *) echo loaded;; esac
fi`)
	oldSC, oldSD := systemctl, systemdRunDir
	systemctl, systemdRunDir = fake, filepath.Join(dir, "run")
	t.Cleanup(func() { systemctl, systemdRunDir = oldSC, oldSD })
	for _, tt := range []struct {
		name string
		want check.Status
		out  string
	}{
		{"sshd", check.OK, "sshd is active (systemd)"},
		{"crond", check.Critical, "crond is failed (systemd)"},
		{"ghost", check.Critical, "ghost: no such systemd unit"},
	} {
		r := runSpec(t, Spec{Name: tt.name, Manager: "auto"}, 0)
		if r.Status != tt.want || !strings.Contains(r.Output, tt.out) {
			t.Errorf("%s: got %v %q", tt.name, r.Status, r.Output)
		}
	}
}

func TestWindowsVerdict(t *testing.T) {
	running := "SERVICE_NAME: Spooler\n        TYPE               : 110  WIN32_OWN_PROCESS\n        STATE              : 4  RUNNING\n"
	stopped := "SERVICE_NAME: Spooler\n        STATE              : 1  STOPPED\n"
	missing := "[SC] EnumQueryServicesStatus:OpenService FAILED 1060:\n\nThe specified service does not exist as an installed service.\n"
	for _, tt := range []struct {
		out  string
		code int
		want check.Status
	}{{running, 0, check.OK}, {stopped, 0, check.Critical}, {missing, 1060, check.Critical}, {"garbage", 5, check.Unknown}} {
		if r := windowsVerdict("Spooler", tt.code, tt.out); r.Status != tt.want {
			t.Errorf("%q: %v %q", tt.out, r.Status, r.Output)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		spec Spec
		bad  string
	}{
		{Spec{Name: "nginx", Manager: "auto"}, ""},
		{Spec{Manager: "auto"}, "service"},
		{Spec{Name: "x", Manager: "upstart"}, "manager"},
		{Spec{Manager: "command"}, "status_command"},
		{Spec{Name: "../etc/passwd"}, "service"},
		{Spec{Name: "-x"}, "service"},
	} {
		errs := tt.spec.Validate()
		if (tt.bad == "") != (len(errs) == 0) || (tt.bad != "" && errs[0].Field != tt.bad) {
			t.Errorf("%+v: %v", tt.spec, errs)
		}
	}
}
