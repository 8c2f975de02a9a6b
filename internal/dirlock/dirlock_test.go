package dirlock

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// With DIRLOCK_TEST_HOLD=DIR the test binary is the child: it locks DIR,
// says so on stdout and waits to be killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("DIRLOCK_TEST_HOLD"); dir != "" {
		if _, err := Acquire(dir, "dirlock test child"); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		time.Sleep(2 * time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestSecondLockerInTheSameProcessFails(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir, "first")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir, "second")
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Acquire: %v, want a LockedError", err)
	}
	if le.PID != os.Getpid() || le.Owner != "first" || le.Dir != l.Dir() {
		t.Fatalf("holder: %+v", le)
	}
	for _, want := range []string{dir, fmt.Sprintf("pid %d", os.Getpid()), "first"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	l2, err := Acquire(dir, "third")
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	l2.Release()
	// Another directory is independent.
	a, err := Acquire(t.TempDir(), "a")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	b, err := Acquire(dir, "b")
	if err != nil {
		t.Fatal(err)
	}
	b.Release()
}

func TestMissingDirectory(t *testing.T) {
	_, err := Acquire(filepath.Join(t.TempDir(), "nope"), "x")
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("err %v", err)
	}
	var le *LockedError
	if errors.As(err, &le) {
		t.Fatalf("a missing directory is not a held lock: %v", err)
	}
}

func TestAnotherProcessHoldsItUntilKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "DIRLOCK_TEST_HOLD="+dir)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if child.ProcessState == nil {
			child.Process.Kill()
			child.Wait()
		}
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Scan()
		line <- sc.Text()
	}()
	select {
	case l := <-line:
		if l != "locked" {
			t.Fatalf("child: %q", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the child did not take the lock")
	}

	start := time.Now()
	_, err = Acquire(dir, "parent")
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("Acquire while the child holds it: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refusal took %s: it must not wait", d)
	}
	if le.PID != child.Process.Pid || le.Owner != "dirlock test child" {
		t.Fatalf("holder %+v, want pid %d", le, child.Process.Pid)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("pid %d", child.Process.Pid)) {
		t.Errorf("error %q does not name the child's pid", err)
	}

	// kill -9: the OS releases the lock; the file left behind is not stale.
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Fatalf("lock file: %v", err)
	}
	l, err := Acquire(dir, "parent")
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	defer l.Release()
	b, _ := os.ReadFile(filepath.Join(dir, FileName))
	if want := fmt.Sprintf("%d\nparent\n", os.Getpid()); string(b) != want {
		t.Errorf("lock file %q, want %q", b, want)
	}
}
