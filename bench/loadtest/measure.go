package main

// Process and machine measurements from getrusage and /proc.

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// raiseNofile raises RLIMIT_NOFILE's soft limit to the hard limit and, if
// need is larger than the hard limit, tries to raise the hard limit too
// (allowed only with CAP_SYS_RESOURCE). It returns the resulting limits.
func raiseNofile(need uint64) (soft, hard uint64, err error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0, err
	}
	if need > rl.Max {
		want := syscall.Rlimit{Cur: need, Max: need}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
			return need, need, nil
		}
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0, err
	}
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0, err
	}
	return rl.Cur, rl.Max, nil
}

// cpuSelf is this process's user+system CPU time.
func cpuSelf() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clkTck is USER_HZ, 100 on every Linux architecture Go supports.
const clkTck = 100

// cpuOf is another process's user+system CPU time from /proc/PID/stat
// (resolution 10 ms).
func cpuOf(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	// after ")": state(3) ppid ... utime is field 14 overall, index 11 here.
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clkTck
}

// procStatus reads VmRSS and VmHWM (bytes) of a process ("self" or a pid).
func procStatus(who string) (rss, hwm int64) {
	b, err := os.ReadFile("/proc/" + who + "/status")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			rss = n << 10
		case "VmHWM":
			hwm = n << 10
		}
	}
	return rss, hwm
}

// resetHWM resets this process's VmHWM to its current RSS (Linux ≥ 4.0).
func resetHWM() error {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// machineCPU is the machine-wide CPU time from /proc/stat: busy (everything
// but idle and iowait) and steal, in seconds.
type machineCPU struct{ busy, steal, total float64 }

func readMachineCPU() machineCPU {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var v []float64
	for _, x := range f[1:] {
		n, _ := strconv.ParseFloat(x, 64)
		v = append(v, n/clkTck)
	}
	var m machineCPU
	for i, x := range v {
		if i >= 8 { // guest and guest_nice are already in user and nice
			break
		}
		m.total += x
		if i != 3 && i != 4 {
			m.busy += x
		}
		if i == 7 {
			m.steal += x
		}
	}
	return m
}

// tcpExt reads counters from /proc/net/netstat's TcpExt lines.
func tcpExt(names ...string) map[string]int64 {
	out := map[string]int64{}
	b, err := os.ReadFile("/proc/net/netstat")
	if err != nil {
		return out
	}
	lines := strings.Split(string(b), "\n")
	for i := 0; i+1 < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "TcpExt:") || !strings.HasPrefix(lines[i+1], "TcpExt:") {
			continue
		}
		keys, vals := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		for j := 1; j < len(keys) && j < len(vals); j++ {
			for _, n := range names {
				if keys[j] == n {
					out[n], _ = strconv.ParseInt(vals[j], 10, 64)
				}
			}
		}
		break
	}
	return out
}

// timeWait is the number of TCP sockets in TIME_WAIT (from /proc/net/sockstat).
func timeWait() int64 {
	b, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "TCP:") {
			continue
		}
		f := strings.Fields(line)
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "tw" {
				n, _ := strconv.ParseInt(f[i+1], 10, 64)
				return n
			}
		}
	}
	return 0
}

// cpuPressure is the machine's CPU pressure stall total ("some": time in
// which at least one runnable task waited for a CPU), from /proc/pressure/cpu.
func cpuPressure() time.Duration {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, "total="); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return time.Duration(n) * time.Microsecond
		}
	}
	return 0
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// quantiles of durations (sorted in place): q in [0,1].
func quantiles(d []time.Duration, qs ...float64) []time.Duration {
	out := make([]time.Duration, len(qs))
	if len(d) == 0 {
		return out
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	for i, q := range qs {
		k := int(math.Ceil(q*float64(len(d)))) - 1
		k = max(0, min(k, len(d)-1))
		out[i] = d[k]
	}
	return out
}

// histo is a gathered histogram: cumulative counts per upper bound.
type histo struct {
	bounds []float64
	cum    []uint64
	count  uint64
	sum    float64
}

// gatherHisto reads one (unlabelled) histogram from a registry.
func gatherHisto(reg prometheus.Gatherer, name string) (histo, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return histo{}, err
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) == 0 {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		var out histo
		for _, b := range h.GetBucket() {
			out.bounds = append(out.bounds, b.GetUpperBound())
			out.cum = append(out.cum, b.GetCumulativeCount())
		}
		out.count, out.sum = h.GetSampleCount(), h.GetSampleSum()
		return out, nil
	}
	return histo{}, fmt.Errorf("no histogram %s", name)
}

// minus is h − earlier (the observations in between).
func (h histo) minus(earlier histo) histo {
	out := histo{bounds: h.bounds, count: h.count - earlier.count, sum: h.sum - earlier.sum}
	for i := range h.cum {
		var e uint64
		if i < len(earlier.cum) {
			e = earlier.cum[i]
		}
		out.cum = append(out.cum, h.cum[i]-e)
	}
	return out
}

// quantile interpolates linearly inside the bucket holding rank q·count,
// as PromQL's histogram_quantile does; past the last finite bucket it
// returns that bucket's bound (and over=true: the value is only a floor).
func (h histo) quantile(q float64) (v float64, over bool) {
	if h.count == 0 {
		return 0, false
	}
	rank := q * float64(h.count)
	lo, prev := 0.0, uint64(0)
	for i, ub := range h.bounds {
		if float64(h.cum[i]) >= rank {
			n := h.cum[i] - prev
			if n == 0 {
				return ub, false
			}
			return lo + (ub-lo)*(rank-float64(prev))/float64(n), false
		}
		lo, prev = ub, h.cum[i]
	}
	if len(h.bounds) == 0 {
		return 0, true
	}
	return h.bounds[len(h.bounds)-1], true
}
