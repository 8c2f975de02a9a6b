// Package diskcheck is the agent-side "disk" check type: space and inodes
// used per mounted filesystem. By default it watches "/" and "/home" (when
// /home is a filesystem of its own), the partitions the seed's resource
// monitoring names; "all" watches every real filesystem.
package diskcheck

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/shirou/gopsutil/v4/disk"
)

// Defaults: the seed names the partitions, not a number; 80/90 % are the
// usual limits (check_disk examples, Zabbix "space is low / critically low").
const (
	DefaultWarning        = 80.0
	DefaultCritical       = 90.0
	DefaultInodesWarning  = 80.0
	DefaultInodesCritical = 90.0
)

// DefaultMounts are watched when mounts is empty ("/home" only when it is a
// mount point of its own).
var DefaultMounts = []string{"/", "/home"}

func init() {
	check.Register(&check.Kind{
		Name:    "disk",
		Label:   "DISK",
		Summary: "space and inodes used (%) per mounted filesystem of the agent's host",
		Scope:   check.ScopeAgent,
		Timeout: 20 * time.Second,
		New: func() check.Spec {
			return &Spec{Warning: DefaultWarning, Critical: DefaultCritical, InodesWarning: DefaultInodesWarning, InodesCritical: DefaultInodesCritical}
		},
	})
}

// Spec is the disk check's configuration.
type Spec struct {
	Mounts         []string `yaml:"mounts" help:"mount points to watch, or \"all\" for every real filesystem (default: / and /home if it is a mount point)"`
	Exclude        []string `yaml:"exclude" help:"mount points to leave out (with all)"`
	Warning        float64  `yaml:"warning" help:"space used % above this is WARNING (0: none)"`
	Critical       float64  `yaml:"critical" help:"space used % above this is CRITICAL (0: none)"`
	InodesWarning  float64  `yaml:"inodes_warning" help:"inodes used % above this is WARNING (0: none)"`
	InodesCritical float64  `yaml:"inodes_critical" help:"inodes used % above this is CRITICAL (0: none)"`
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	for _, p := range []struct {
		key string
		v   float64
	}{{"warning", s.Warning}, {"critical", s.Critical}, {"inodes_warning", s.InodesWarning}, {"inodes_critical", s.InodesCritical}} {
		if p.v < 0 || p.v > 100 {
			errs = append(errs, check.Errf(p.key, "must be a percentage between 0 and 100, not %g", p.v))
		}
	}
	if s.Warning > 0 && s.Critical > 0 && s.Warning > s.Critical {
		errs = append(errs, check.Errf("warning", "%g is above critical %g", s.Warning, s.Critical))
	}
	if s.InodesWarning > 0 && s.InodesCritical > 0 && s.InodesWarning > s.InodesCritical {
		errs = append(errs, check.Errf("inodes_warning", "%g is above inodes_critical %g", s.InodesWarning, s.InodesCritical))
	}
	for i, m := range s.Mounts {
		if m == "all" {
			if len(s.Mounts) > 1 {
				errs = append(errs, check.Errf("mounts", "\"all\" cannot be combined with other mount points"))
			}
			continue
		}
		if !isAbs(m) {
			errs = append(errs, check.Errf("mounts", "item %d: %q is not an absolute path (or \"all\")", i, m))
		}
	}
	return errs
}

func isAbs(p string) bool {
	return filepath.IsAbs(p) || strings.HasPrefix(p, "/") || (runtime.GOOS == "windows" && len(p) == 2 && p[1] == ':')
}

// Mount is one filesystem as the checker sees it.
type Mount struct {
	Path, Device, FSType string
	Total, Free          uint64 // bytes; Free is what unprivileged users may use
	Used                 uint64
	Inodes, InodesFree   uint64
}

// UsedPct is the space used as df shows it: used / (used + available).
func (m Mount) UsedPct() float64 {
	d := m.Used + m.Free
	if d == 0 {
		return 0
	}
	return 100 * float64(m.Used) / float64(d)
}

// InodesPct is the share of inodes used (0 when the filesystem has none).
func (m Mount) InodesPct() float64 {
	if m.Inodes == 0 {
		return 0
	}
	return 100 * float64(m.Inodes-min(m.InodesFree, m.Inodes)) / float64(m.Inodes)
}

// System is what the checker needs from the OS; tests replace it.
type System interface {
	Partitions(ctx context.Context) ([]disk.PartitionStat, error)
	Usage(ctx context.Context, path string) (*disk.UsageStat, error)
}

type realSystem struct{}

func (realSystem) Partitions(ctx context.Context) ([]disk.PartitionStat, error) {
	return disk.PartitionsWithContext(ctx, false)
}
func (realSystem) Usage(ctx context.Context, path string) (*disk.UsageStat, error) {
	return disk.UsageWithContext(ctx, path)
}

var sys System = realSystem{}

// Pseudo and read-only image filesystems that never fill up in a way that
// matters (node_exporter's default exclusions).
var (
	ignoredFSTypes = regexp.MustCompile(`^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs|tmpfs|ramfs|udf|nullfs)$`)
	ignoredMounts  = regexp.MustCompile(`^/(dev|proc|run|sys|snap|var/lib/docker/.+|var/lib/containers/storage/.+|var/lib/kubelet/.+)($|/)`)
)

// RealFilesystem reports whether a partition is a real, fillable filesystem.
func RealFilesystem(p disk.PartitionStat) bool {
	return !ignoredFSTypes.MatchString(p.Fstype) && !ignoredMounts.MatchString(p.Mountpoint)
}

// New builds the checker.
func (s *Spec) New(check.Env) (check.Checker, error) {
	sp := *s
	sp.Mounts = slices.Clone(s.Mounts)
	return check.CheckerFunc(func(ctx context.Context) check.Result { return sp.run(ctx, sys) }), nil
}

func (s *Spec) run(ctx context.Context, sy System) check.Result {
	parts, perr := sy.Partitions(ctx)
	byPath := map[string]disk.PartitionStat{}
	for _, p := range parts {
		byPath[p.Mountpoint] = p
	}
	var want []string
	var missing []string
	switch {
	case len(s.Mounts) == 1 && s.Mounts[0] == "all":
		if perr != nil {
			return check.Resultf(check.Unknown, "cannot list filesystems: %v", perr)
		}
		seen := map[string]bool{}
		for _, p := range parts {
			if RealFilesystem(p) && !seen[p.Mountpoint] && !slices.Contains(s.Exclude, p.Mountpoint) {
				seen[p.Mountpoint] = true
				want = append(want, p.Mountpoint)
			}
		}
		if len(want) == 0 {
			return check.Resultf(check.Unknown, "no real filesystem found")
		}
	case len(s.Mounts) == 0:
		want = append(want, rootPath())
		if _, ok := byPath["/home"]; ok && runtime.GOOS != "windows" {
			want = append(want, "/home")
		}
	default:
		want = s.Mounts
	}
	var mounts []Mount
	for _, path := range want {
		u, err := sy.Usage(ctx, path)
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s: %v", path, err))
			continue
		}
		p := byPath[path]
		mounts = append(mounts, Mount{Path: path, Device: p.Device, FSType: u.Fstype, Total: u.Total, Free: u.Free, Used: u.Used, Inodes: u.InodesTotal, InodesFree: u.InodesFree})
	}
	r := s.Evaluate(mounts)
	if len(missing) > 0 {
		r.Status = check.Worst(r.Status, check.Critical)
		r.Output = check.OneLine(fmt.Sprintf("cannot read %s; %s", strings.Join(missing, "; "), r.Output))
	}
	return r
}

func rootPath() string {
	if runtime.GOOS == "windows" {
		return "C:"
	}
	return "/"
}

// Evaluate grades mounts: the worst one decides and is named first.
func (s *Spec) Evaluate(mounts []Mount) check.Result {
	if len(mounts) == 0 {
		return check.Resultf(check.Unknown, "no filesystem to check")
	}
	type graded struct {
		m      Mount
		st     check.Status
		pct    float64
		ipct   float64
		reason string
	}
	gs := make([]graded, len(mounts))
	for i, m := range mounts {
		g := graded{m: m, pct: m.UsedPct(), ipct: m.InodesPct()}
		sst := over(g.pct, s.Warning, s.Critical)
		ist := over(g.ipct, s.InodesWarning, s.InodesCritical)
		g.st = check.Worst(sst, ist)
		if ist.Severity() > sst.Severity() {
			g.reason = "inodes"
		}
		gs[i] = g
	}
	// Worst first: by status, then by the fuller of space and inodes.
	sort.SliceStable(gs, func(i, j int) bool {
		if a, b := gs[i].st.Severity(), gs[j].st.Severity(); a != b {
			return a > b
		}
		return max(gs[i].pct, gs[i].ipct) > max(gs[j].pct, gs[j].ipct)
	})
	w := gs[0]
	desc := func(g graded) string {
		return fmt.Sprintf("%s %.1f%% used (%s free of %s), inodes %.1f%%", g.m.Path, g.pct, bytes(g.m.Free), bytes(g.m.Total), g.ipct)
	}
	var out string
	n := len(gs)
	switch {
	case w.st == check.OK && n == 1:
		out = desc(w)
	case w.st == check.OK:
		out = fmt.Sprintf("%d filesystems OK, fullest %s", n, desc(w))
	default:
		bad := 0
		for _, g := range gs {
			if g.st != check.OK {
				bad++
			}
		}
		what := "space"
		if w.reason == "inodes" {
			what = "inodes"
		}
		out = fmt.Sprintf("%s %s: %s", w.m.Path, what+" "+strings.ToLower(w.st.String()), desc(w))
		if n > 1 {
			out += fmt.Sprintf(" (%d of %d filesystems over a limit)", bad, n)
		}
	}
	r := check.Resultf(w.st, "%s", out)
	var long []string
	for _, g := range gs {
		long = append(long, fmt.Sprintf("%s: %s (%s %s)", g.st, desc(g), g.m.FSType, g.m.Device))
	}
	if n > 1 {
		r.Long = strings.Join(long, "\n")
	}
	// Perfdata in mount order.
	for _, m := range mounts {
		r.Perf = append(r.Perf, pct(m.Path, m.UsedPct(), s.Warning, s.Critical))
		if m.Inodes > 0 {
			r.Perf = append(r.Perf, pct(m.Path+" inodes", m.InodesPct(), s.InodesWarning, s.InodesCritical))
		}
	}
	return r
}

func over(v, warn, crit float64) check.Status {
	switch {
	case crit > 0 && v > crit:
		return check.Critical
	case warn > 0 && v > warn:
		return check.Warning
	}
	return check.OK
}

func pct(label string, v, w, c float64) check.Metric {
	m := check.M(label, float64(int64(v*100+0.5))/100, "%")
	if w > 0 {
		m.Warn = w
	}
	if c > 0 {
		m.Crit = c
	}
	m.Min, m.Max = 0, 100
	return m
}

func bytes(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit && exp < 5; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}
