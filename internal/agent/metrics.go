package agent

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/net"
	"github.com/shirou/gopsutil/v4/process"

	"github.com/mamori/mamori/internal/wire"
)

// Collector reads host metrics with node_exporter's names. It reuses its
// sample slice and label maps between collections: the samples of one
// Collect are valid until the next (the runtime spools them at once).
type Collector struct {
	buf    []wire.Sample
	labels map[string]map[string]string
	boot   float64
	uname  map[string]string // labels of node_uname_info, read once
	// Errors of the last collection, by source (a missing source does not
	// stop the others).
	Errors []string
}

// NewCollector makes a collector.
func NewCollector() *Collector {
	return &Collector{labels: map[string]map[string]string{}}
}

// node_exporter's default exclusions.
var (
	fsTypesExcluded = regexp.MustCompile(`^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$`)
	mountsExcluded  = regexp.MustCompile(`^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)`)
	disksExcluded   = regexp.MustCompile(`^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`)
)

// lbl returns a shared label map for the key/value pairs (immutable once made).
func (c *Collector) lbl(kv ...string) map[string]string {
	key := strings.Join(kv, "\x00")
	if m, ok := c.labels[key]; ok {
		return m
	}
	if len(c.labels) > 20000 { // devices come and go (veth...): do not grow for ever
		clear(c.labels)
	}
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	c.labels[key] = m
	return m
}

func (c *Collector) add(name string, labels map[string]string, t int64, v float64) {
	c.buf = append(c.buf, wire.Sample{Name: name, Labels: labels, Time: t, Value: v})
}

// Collect reads every metric once.
func (c *Collector) Collect(ctx context.Context, now time.Time) []wire.Sample {
	c.buf = c.buf[:0]
	c.Errors = c.Errors[:0]
	// Whole seconds: millisecond jitter between collections costs the
	// time-series store ~40 % more bytes per sample (docs/metrics.md).
	t := now.Truncate(time.Second).UnixMilli()
	fail := func(what string, err error) { c.Errors = append(c.Errors, what+": "+err.Error()) }

	if l1, l5, l15, err := loadAvg(ctx); err == nil {
		c.add("node_load1", nil, t, l1)
		c.add("node_load5", nil, t, l5)
		c.add("node_load15", nil, t, l15)
	} else {
		fail("load", err)
	}
	if times, err := cpu.TimesWithContext(ctx, true); err == nil {
		for _, ts := range times {
			id := strings.TrimPrefix(ts.CPU, "cpu")
			for _, m := range [...]struct {
				mode string
				v    float64
			}{{"user", ts.User}, {"nice", ts.Nice}, {"system", ts.System}, {"idle", ts.Idle}, {"iowait", ts.Iowait}, {"irq", ts.Irq}, {"softirq", ts.Softirq}, {"steal", ts.Steal}} {
				c.add("node_cpu_seconds_total", c.lbl("cpu", id, "mode", m.mode), t, m.v)
			}
		}
	} else {
		fail("cpu", err)
	}
	if vm, err := mem.VirtualMemoryWithContext(ctx); err == nil {
		c.add("node_memory_MemTotal_bytes", nil, t, float64(vm.Total))
		c.add("node_memory_MemAvailable_bytes", nil, t, float64(vm.Available))
		c.add("node_memory_MemFree_bytes", nil, t, float64(vm.Free))
		c.add("node_memory_Buffers_bytes", nil, t, float64(vm.Buffers))
		// gopsutil counts SReclaimable (kernel slab) into Cached on Linux;
		// node_exporter's Cached is /proc/meminfo's Cached line alone.
		c.add("node_memory_Cached_bytes", nil, t, float64(vm.Cached-min(vm.Cached, vm.Sreclaimable)))
	} else {
		fail("memory", err)
	}
	if sw, err := mem.SwapMemoryWithContext(ctx); err == nil {
		c.add("node_memory_SwapTotal_bytes", nil, t, float64(sw.Total))
		c.add("node_memory_SwapFree_bytes", nil, t, float64(sw.Free))
	} else {
		fail("swap", err)
	}
	c.addFilesystems(ctx, t, fail)
	c.addDiskIO(ctx, t, fail)
	c.addNetwork(ctx, t, fail)
	if pids, err := process.PidsWithContext(ctx); err == nil {
		c.add("node_procs_total", nil, t, float64(len(pids)))
	} else {
		fail("processes", err)
	}
	if c.boot == 0 {
		if bt, err := host.BootTimeWithContext(ctx); err == nil {
			c.boot = float64(bt)
		} else {
			fail("boot time", err)
		}
	}
	if c.boot > 0 {
		c.add("node_boot_time_seconds", nil, t, c.boot)
	}
	// The clock at the collection, in the whole seconds of the sample's own
	// time: nanoseconds (a different fraction every time) cost the
	// time-series store 9 bytes a sample instead of 2 (docs/metrics.md).
	c.add("node_time_seconds", nil, t, float64(t)/1000)
	c.addUname(ctx, t, fail)
	return c.buf
}

// addFilesystems adds size and free space (bytes and inodes) of every
// mounted real filesystem, once per mount point.
func (c *Collector) addFilesystems(ctx context.Context, t int64, fail func(string, error)) {
	if parts, err := disk.PartitionsWithContext(ctx, false); err == nil {
		seen := map[string]bool{}
		for _, p := range parts {
			if fsTypesExcluded.MatchString(p.Fstype) || mountsExcluded.MatchString(p.Mountpoint) || seen[p.Mountpoint] {
				continue
			}
			seen[p.Mountpoint] = true
			u, err := disk.UsageWithContext(ctx, p.Mountpoint)
			if err != nil {
				continue
			}
			l := c.lbl("device", p.Device, "fstype", p.Fstype, "mountpoint", p.Mountpoint)
			c.add("node_filesystem_size_bytes", l, t, float64(u.Total))
			c.add("node_filesystem_avail_bytes", l, t, float64(u.Free))
			if u.InodesTotal > 0 {
				c.add("node_filesystem_files", l, t, float64(u.InodesTotal))
				c.add("node_filesystem_files_free", l, t, float64(u.InodesFree))
			}
		}
	} else {
		fail("filesystems", err)
	}
}

// addDiskIO adds the read/write counters of every real disk.
func (c *Collector) addDiskIO(ctx context.Context, t int64, fail func(string, error)) {
	if io, err := disk.IOCountersWithContext(ctx); err == nil {
		for name, s := range io {
			if disksExcluded.MatchString(name) {
				continue
			}
			l := c.lbl("device", name)
			c.add("node_disk_read_bytes_total", l, t, float64(s.ReadBytes))
			c.add("node_disk_written_bytes_total", l, t, float64(s.WriteBytes))
			c.add("node_disk_reads_completed_total", l, t, float64(s.ReadCount))
			c.add("node_disk_writes_completed_total", l, t, float64(s.WriteCount))
		}
	} else {
		fail("disk io", err)
	}
}

// addNetwork adds the traffic and error counters of every interface.
func (c *Collector) addNetwork(ctx context.Context, t int64, fail func(string, error)) {
	if nics, err := net.IOCountersWithContext(ctx, true); err == nil {
		for _, n := range nics {
			l := c.lbl("device", n.Name)
			c.add("node_network_receive_bytes_total", l, t, float64(n.BytesRecv))
			c.add("node_network_transmit_bytes_total", l, t, float64(n.BytesSent))
			c.add("node_network_receive_packets_total", l, t, float64(n.PacketsRecv))
			c.add("node_network_transmit_packets_total", l, t, float64(n.PacketsSent))
			c.add("node_network_receive_errs_total", l, t, float64(n.Errin))
			c.add("node_network_transmit_errs_total", l, t, float64(n.Errout))
		}
	} else {
		fail("network", err)
	}
}

// addUname adds node_uname_info (value 1, the system in its labels), which
// Node Exporter dashboards use to list and name the hosts.
func (c *Collector) addUname(ctx context.Context, t int64, fail func(string, error)) {
	if c.uname == nil {
		u, err := uname(ctx)
		if err != nil {
			fail("uname", err)
			return
		}
		c.uname = u
	}
	c.add("node_uname_info", c.uname, t, 1)
}
