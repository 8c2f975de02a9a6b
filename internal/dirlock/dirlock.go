// Package dirlock keeps one process per state directory: a long-running
// process (the server on its data_dir, the agent on its state_dir) takes
// an exclusive lock on DIR/mamori.lock for its lifetime. A second process
// is refused at once with the PID of the holder; the operating system
// releases the lock when the holder exits, however it exits (kill -9
// included), so a lock file left behind is never stale.
//
// The lock is flock(2) on Unix and LockFileEx on Windows. It is advisory:
// it keeps mamori's own processes apart, nothing else.
package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// FileName is the lock file in the locked directory.
const FileName = "mamori.lock"

// Lock is a held directory lock.
type Lock struct {
	f   *os.File
	dir string
}

// LockedError says that another process holds the directory.
type LockedError struct {
	Dir   string
	PID   int    // 0 when the holder has not written it (yet)
	Owner string // what the holder said it is, e.g. "mamori server"
}

func (e *LockedError) Error() string {
	who := "another process"
	if e.Owner != "" {
		who = e.Owner
	}
	if e.PID > 0 {
		who += fmt.Sprintf(" (pid %d)", e.PID)
	}
	return fmt.Sprintf("%s is in use by %s: two processes must not share it (lock %s)", e.Dir, who, filepath.Join(e.Dir, FileName))
}

// errWouldBlock is returned by the platform's tryLock when the lock is held.
var errWouldBlock = errors.New("lock held by another process")

// Acquire takes the lock of dir (which must exist) without waiting, and
// writes this process's PID and owner (a short description such as
// "mamori agent") into the lock file. It fails with a *LockedError when
// another process — or another Acquire in this process — holds it.
func Acquire(dir, owner string) (*Lock, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	path := filepath.Join(abs, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if errors.Is(err, os.ErrPermission) {
		f, err = os.Open(path) // read-only: enough to lock and to name the holder
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", abs, err)
	}
	if err := tryLock(f); err != nil {
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, holder(abs, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// Best effort: the lock is what counts, the content only names us.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(fmt.Sprintf("%d\n%s\n", os.Getpid(), strings.TrimSpace(owner))), 0)
	}
	return &Lock{f: f, dir: abs}, nil
}

// holder reads the PID and owner the holder wrote. A holder that has just
// taken the lock writes them right after: wait for them briefly.
func holder(dir, path string) *LockedError {
	e := &LockedError{Dir: dir}
	for i := 0; i < 20; i++ {
		b, _ := os.ReadFile(path)
		lines := strings.SplitN(string(b), "\n", 3)
		if pid, err := strconv.Atoi(strings.TrimSpace(lines[0])); err == nil && pid > 0 {
			e.PID = pid
			if len(lines) > 1 {
				e.Owner = strings.TrimSpace(lines[1])
			}
			return e
		}
		time.Sleep(10 * time.Millisecond)
	}
	return e
}

// Dir is the locked directory (absolute).
func (l *Lock) Dir() string { return l.dir }

// Release gives the lock up (the lock file stays; it is not stale: the
// next process locks it again). Releasing twice is harmless.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := unlock(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
