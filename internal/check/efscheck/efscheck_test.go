package efscheck

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/shirou/gopsutil/v4/disk"
)

func run(t *testing.T, s *Spec, mounts Mounts) check.Result {
	t.Helper()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	k, _ := check.Lookup("aws_efs")
	c, _ := s.New(check.Env{})
	c.(*Checker).mounts = mounts
	r := check.Run(context.Background(), k, c, 0)
	t.Logf("%s: %s | %s", r.Status, r.Output, check.PerfString(r.Perf))
	return r
}

func mountedAs(dir, fstype string) Mounts {
	return func(context.Context) ([]disk.PartitionStat, error) {
		return []disk.PartitionStat{{Mountpoint: "/", Fstype: "ext4"}, {Mountpoint: dir, Fstype: fstype, Device: "127.0.0.1:/"}}, nil
	}
}

func newSpec(dir string) *Spec {
	return &Spec{Path: dir, FSTypes: DefaultFSTypes, Size: 4096, Warning: time.Second, Critical: 5 * time.Second}
}

func TestEFSReadWrite(t *testing.T) {
	dir := t.TempDir()
	r := run(t, newSpec(dir), mountedAs(dir, "nfs4"))
	if r.Status != check.OK || !strings.Contains(r.Output, "wrote, read back and deleted 4096 bytes") {
		t.Fatalf("%s %q", r.Status, r.Output)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 0 {
		t.Fatalf("test file left behind: %v", left)
	}
	s := newSpec(dir)
	s.Warning = time.Nanosecond
	if r := run(t, s, mountedAs(dir, "nfs4")); r.Status != check.Warning {
		t.Fatalf("slow: %s %q", r.Status, r.Output)
	}
}

func TestEFSNotMounted(t *testing.T) {
	dir := t.TempDir()
	r := run(t, newSpec(dir), mountedAs(filepath.Join(dir, "elsewhere"), "nfs4"))
	if r.Status != check.Critical || !strings.Contains(r.Output, "is not mounted as nfs4/nfs/efs (it is on /, ext4)") {
		t.Fatalf("%s %q", r.Status, r.Output)
	}
}

func TestEFSWriteFails(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("needs a directory the test user cannot write")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o555)
	defer os.Chmod(dir, 0o755)
	r := run(t, newSpec(dir), mountedAs(dir, "nfs4"))
	if r.Status != check.Critical || !strings.Contains(r.Output, "create:") {
		t.Fatalf("%s %q", r.Status, r.Output)
	}
}
