package diskcheck

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/shirou/gopsutil/v4/disk"
)

const gib = 1 << 30

type fakeSys struct {
	parts []disk.PartitionStat
	usage map[string]*disk.UsageStat
}

func (f fakeSys) Partitions(context.Context) ([]disk.PartitionStat, error) { return f.parts, nil }
func (f fakeSys) Usage(_ context.Context, p string) (*disk.UsageStat, error) {
	if u, ok := f.usage[p]; ok {
		return u, nil
	}
	return nil, errors.New("no such file or directory")
}

func usage(path string, usedGiB, freeGiB, inodes, inodesFree uint64) *disk.UsageStat {
	return &disk.UsageStat{Path: path, Fstype: "ext4", Total: (usedGiB + freeGiB) * gib, Used: usedGiB * gib, Free: freeGiB * gib, InodesTotal: inodes, InodesFree: inodesFree}
}

func TestRun(t *testing.T) {
	sys := fakeSys{
		parts: []disk.PartitionStat{
			{Device: "/dev/sda1", Mountpoint: "/", Fstype: "ext4"},
			{Device: "/dev/sda2", Mountpoint: "/home", Fstype: "ext4"},
			{Device: "/dev/sdb1", Mountpoint: "/var", Fstype: "xfs"},
			{Device: "/dev/loop0", Mountpoint: "/snap/core/1", Fstype: "squashfs"},
			{Device: "tmpfs", Mountpoint: "/run", Fstype: "tmpfs"},
		},
		usage: map[string]*disk.UsageStat{
			"/":     usage("/", 50, 50, 1000, 900),
			"/home": usage("/home", 85, 15, 1000, 900),
			"/var":  usage("/var", 10, 90, 1000, 50),
			"/data": usage("/data", 95, 5, 0, 0),
		},
	}
	def := Spec{Warning: 80, Critical: 90, InodesWarning: 80, InodesCritical: 90}
	with := func(m ...string) Spec { s := def; s.Mounts = m; return s }
	tests := []struct {
		name string
		spec Spec
		want check.Status
		out  string
		perf int
	}{
		{"default / and /home", def, check.Warning, "/home space warning: /home 85.0% used (15.0 GiB free of 100.0 GiB), inodes 10.0% (1 of 2 filesystems over a limit)", 4},
		{"one mount ok", with("/"), check.OK, "/ 50.0% used (50.0 GiB free of 100.0 GiB), inodes 10.0%", 2},
		{"all: inodes worst", with("all"), check.Critical, "/var inodes critical: /var 10.0% used", 6},
		{"explicit critical without inodes", with("/", "/data"), check.Critical, "/data space critical", 3},
		{"missing mount", with("/", "/nope"), check.Critical, "cannot read /nope: no such file", 2},
		{"all ok with relaxed limits", Spec{Mounts: []string{"all"}, Warning: 99, InodesWarning: 99}, check.OK, "3 filesystems OK, fullest /var", 6},
		{"all with exclude", Spec{Mounts: []string{"all"}, Exclude: []string{"/var", "/home"}, Warning: 80}, check.OK, "/ 50.0% used", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.spec.run(context.Background(), sys)
			if r.Status != tt.want || !strings.Contains(r.Output, tt.out) {
				t.Fatalf("got %v %q\nwant %v containing %q", r.Status, r.Output, tt.want, tt.out)
			}
			if len(r.Perf) != tt.perf {
				t.Fatalf("perf %d: %v", len(r.Perf), check.PerfString(r.Perf))
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		spec Spec
		bad  string
	}{
		{Spec{Warning: 80, Critical: 90}, ""},
		{Spec{Mounts: []string{"all"}}, ""},
		{Spec{Mounts: []string{"all", "/"}}, "mounts"},
		{Spec{Mounts: []string{"var"}}, "mounts"},
		{Spec{Warning: 95, Critical: 90}, "warning"},
		{Spec{InodesCritical: 120}, "inodes_critical"},
	} {
		errs := tt.spec.Validate()
		if (tt.bad == "") != (len(errs) == 0) || (tt.bad != "" && errs[0].Field != tt.bad) {
			t.Errorf("%+v: %v", tt.spec, errs)
		}
	}
}

func TestRealSystem(t *testing.T) {
	k, _ := check.Lookup("disk")
	sp := k.New().(*Spec)
	sp.Warning, sp.Critical, sp.InodesWarning, sp.InodesCritical = 0, 0, 0, 0
	sp.Mounts = []string{"all"}
	c, _ := sp.New(check.Env{})
	r := check.Run(context.Background(), k, c, 0)
	if r.Status != check.OK {
		t.Fatalf("%v %q", r.Status, r.Output)
	}
	t.Log(r.PluginLine())
}
