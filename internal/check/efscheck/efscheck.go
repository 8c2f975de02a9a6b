// Package efscheck is the agent-side "aws_efs" check type: from a host that
// mounts an EFS file system, write a file under the mount, read it back,
// compare and delete it, timing each step. It first makes sure the path
// is still an NFS mount: an unmounted EFS leaves an empty local directory
// where writes would succeed and prove nothing.
package efscheck

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/shirou/gopsutil/v4/disk"
)

// DefaultFSTypes are the file system types an EFS mount shows (the EFS
// mount helper mounts NFSv4.1, through stunnel with TLS).
var DefaultFSTypes = []string{"nfs4", "nfs", "efs"}

func init() {
	check.Register(&check.Kind{
		Name:    "aws_efs",
		Label:   "AWS EFS",
		Summary: "write, read back and delete a file on a mounted EFS file system, timed (runs on the mounting host's agent)",
		Scope:   check.ScopeAgent,
		Timeout: 30 * time.Second,
		New: func() check.Spec {
			return &Spec{Size: 4096, FSTypes: DefaultFSTypes, Warning: time.Second, Critical: 5 * time.Second}
		},
	})
}

// Spec is the aws_efs check's configuration.
type Spec struct {
	Path     string        `yaml:"path" required:"true" help:"mount point of the EFS file system (or a writable directory under it)"`
	FSTypes  []string      `yaml:"fs_types" help:"file system types the path must be mounted as (empty: any)"`
	Size     int           `yaml:"size" help:"bytes written and read back"`
	Warning  time.Duration `yaml:"warning" help:"WARNING when write+read+delete take longer"`
	Critical time.Duration `yaml:"critical" help:"CRITICAL when write+read+delete take longer"`
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	if !filepath.IsAbs(s.Path) && !strings.HasPrefix(s.Path, "/") {
		errs = append(errs, check.Errf("path", "must be an absolute path, not %q", s.Path))
	}
	if s.Size < 1 || s.Size > 16<<20 {
		errs = append(errs, check.Errf("size", "must be between 1 and 16777216 bytes"))
	}
	if s.Warning > 0 && s.Critical > 0 && s.Warning > s.Critical {
		errs = append(errs, check.Errf("warning", "%s is above critical %s", s.Warning, s.Critical))
	}
	return errs
}

// Mounts finds the mount a path is on; tests replace it.
type Mounts func(ctx context.Context) ([]disk.PartitionStat, error)

func systemMounts(ctx context.Context) ([]disk.PartitionStat, error) {
	return disk.PartitionsWithContext(ctx, true)
}

// New builds the checker.
func (s *Spec) New(check.Env) (check.Checker, error) {
	return &Checker{spec: *s, mounts: systemMounts}, nil
}

// Checker runs the test. A file operation on a hung NFS mount blocks in
// the kernel and cannot be cancelled: the checker then answers CRITICAL
// at its deadline and starts no second test until the first returns.
type Checker struct {
	spec   Spec
	mounts Mounts
	mu     sync.Mutex
	busy   time.Time // start of a test still blocked, zero if none
}

type outcome struct {
	write, read, del time.Duration
	err              error
}

// Check runs one test.
func (c *Checker) Check(ctx context.Context) check.Result {
	if r, ok := c.mountOK(ctx); !ok {
		return r
	}
	c.mu.Lock()
	if !c.busy.IsZero() {
		since := c.busy
		c.mu.Unlock()
		return check.Resultf(check.Critical, "%s: the previous test is still blocked since %s (hung mount?)", c.spec.Path, since.UTC().Format(time.RFC3339))
	}
	c.busy = time.Now()
	c.mu.Unlock()
	done := make(chan outcome, 1)
	go func() {
		o := c.test()
		c.mu.Lock()
		c.busy = time.Time{}
		c.mu.Unlock()
		done <- o
	}()
	select {
	case o := <-done:
		return c.grade(o)
	case <-ctx.Done():
		return check.Resultf(check.Critical, "%s: no answer from the file system within the timeout (hung mount?)", c.spec.Path)
	}
}

func (c *Checker) mountOK(ctx context.Context) (check.Result, bool) {
	if len(c.spec.FSTypes) == 0 {
		return check.Result{}, true
	}
	parts, err := c.mounts(ctx)
	if err != nil {
		return check.Resultf(check.Unknown, "cannot list mounts: %v", err), false
	}
	best := disk.PartitionStat{}
	for _, p := range parts {
		if within(c.spec.Path, p.Mountpoint) && len(p.Mountpoint) > len(best.Mountpoint) {
			best = p
		}
	}
	if !slices.Contains(c.spec.FSTypes, best.Fstype) {
		return check.Resultf(check.Critical, "%s is not mounted as %s (it is on %s, %s): is the EFS file system mounted?",
			c.spec.Path, strings.Join(c.spec.FSTypes, "/"), orNone(best.Mountpoint), orNone(best.Fstype)), false
	}
	return check.Result{}, true
}

func within(path, mount string) bool {
	path, mount = filepath.Clean(path), filepath.Clean(mount)
	return path == mount || mount == "/" || strings.HasPrefix(path, mount+string(filepath.Separator))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// test writes, syncs, reads back and deletes one file.
func (c *Checker) test() (o outcome) {
	data := make([]byte, c.spec.Size)
	rand.Read(data)
	t0 := time.Now()
	f, err := os.CreateTemp(c.spec.Path, ".mamori-efs-check-*")
	if err != nil {
		o.err = fmt.Errorf("create: %w", err)
		return o
	}
	name := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	o.write = time.Since(t0)
	if err != nil {
		os.Remove(name)
		o.err = fmt.Errorf("write: %w", err)
		return o
	}
	t1 := time.Now()
	back, err := os.ReadFile(name)
	o.read = time.Since(t1)
	if err == nil && !bytes.Equal(back, data) {
		err = fmt.Errorf("read back %d bytes that differ from the %d written", len(back), len(data))
	}
	t2 := time.Now()
	derr := os.Remove(name)
	o.del = time.Since(t2)
	switch {
	case err != nil:
		o.err = fmt.Errorf("read: %w", err)
	case derr != nil:
		o.err = fmt.Errorf("delete: %w", derr)
	}
	return o
}

func (c *Checker) grade(o outcome) check.Result {
	total := o.write + o.read + o.del
	perf := []check.Metric{check.Seconds("time", total, c.spec.Warning, c.spec.Critical),
		check.Seconds("write", o.write, 0, 0), check.Seconds("read", o.read, 0, 0), check.Seconds("delete", o.del, 0, 0)}
	if o.err != nil {
		return check.Resultf(check.Critical, "%s: %v", c.spec.Path, o.err).With(perf...)
	}
	st := check.ByDuration(total, c.spec.Warning, c.spec.Critical)
	return check.Resultf(st, "%s: wrote, read back and deleted %d bytes in %s (write %s, read %s, delete %s)", c.spec.Path, c.spec.Size,
		total.Round(time.Microsecond), o.write.Round(time.Microsecond), o.read.Round(time.Microsecond), o.del.Round(time.Microsecond)).With(perf...)
}
