package pingcheck

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

// netns is a private network namespace entered by one locked OS thread.
// Sockets opened and sysctls written through do() belong to the namespace,
// so tests can enable unprivileged ICMP (net.ipv4.ping_group_range) or make
// the loopback ignore echo requests without touching the host's settings.
type netns struct {
	fns chan func()
}

func newNetns(t *testing.T) *netns {
	t.Helper()
	n := &netns{fns: make(chan func())}
	ready := make(chan error)
	go func() {
		// Never unlocked: the thread ends with the goroutine, namespace and all.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ready <- err
			return
		}
		ready <- loUp()
		for f := range n.fns {
			f()
		}
	}()
	if err := <-ready; err != nil {
		if checktest.Integration() {
			t.Fatalf("cannot make a network namespace (CI runs as root): %v", err)
		}
		t.Skipf("cannot make a network namespace (needs root/CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() { close(n.fns) })
	return n
}

func (n *netns) do(f func()) {
	done := make(chan struct{})
	n.fns <- func() { f(); close(done) }
	<-done
}

func (n *netns) sysctl(t *testing.T, path, value string) {
	t.Helper()
	var err error
	n.do(func() { err = os.WriteFile("/proc/sys/"+path, []byte(value), 0o644) })
	if err != nil {
		t.Fatal(err)
	}
}

func (n *netns) open(t *testing.T, v6 bool, mode sockMode) *pinger {
	t.Helper()
	var p *pinger
	var err error
	n.do(func() { p, err = openAny(v6, mode) })
	if err != nil {
		t.Fatalf("open %s v6=%v in the namespace: %v", mode, v6, err)
	}
	t.Cleanup(func() { p.close() })
	return p
}

// loUp brings the namespace's loopback up (127.0.0.1 and ::1).
func loUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// TestNetns tests the unprivileged (datagram) socket path, packet loss and
// the "no socket allowed" message in a private network namespace.
func TestNetns(t *testing.T) {
	ns := newNetns(t)
	ns.sysctl(t, "net/ipv4/ping_group_range", "0 2147483647")

	for _, mode := range []sockMode{modeUnprivileged, modePrivileged} {
		for _, host := range []string{"127.0.0.1", "::1"} {
			t.Run("OK/"+mode.String()+"/"+host, func(t *testing.T) {
				p := ns.open(t, host == "::1", mode)
				if p.mode != mode {
					t.Fatalf("opened %s, want %s", p.mode, mode)
				}
				r := runCheck(testChecker(t, fastSpec(host), p), 3*time.Second)
				if r.Status != check.OK || !strings.HasSuffix(r.Output, "ms, lost 0%") {
					t.Fatalf("%s %q", r.Status, r.PluginLine())
				}
			})
		}
	}

	t.Run("auto prefers unprivileged", func(t *testing.T) {
		if p := ns.open(t, false, modeAuto); p.mode != modeUnprivileged {
			t.Fatalf("auto opened %s", p.mode)
		}
	})

	// Loss: the namespace's loopback stops answering echo requests.
	for _, mode := range []sockMode{modeUnprivileged, modePrivileged} {
		t.Run("all lost/"+mode.String(), func(t *testing.T) {
			p := ns.open(t, false, mode)
			ns.sysctl(t, "net/ipv4/icmp_echo_ignore_all", "1")
			defer ns.sysctl(t, "net/ipv4/icmp_echo_ignore_all", "0")
			start := time.Now()
			r := runCheck(testChecker(t, fastSpec("127.0.0.1"), p), 500*time.Millisecond)
			if r.Status != check.Critical || r.Output != "PING CRITICAL - 127.0.0.1: lost 100% (no reply to 5 packets)" {
				t.Fatalf("%s %q", r.Status, r.PluginLine())
			}
			if d := time.Since(start); d > 1500*time.Millisecond { // the 500 ms deadline ends it (margin for a loaded machine)
				t.Fatalf("took %s", d)
			}
			if check.PerfString(r.Perf) != "pl=100%;20;60;0" {
				t.Fatalf("perf %q", check.PerfString(r.Perf))
			}
			if n := p.inFlight(); n != 0 {
				t.Fatalf("%d requests left registered", n)
			}
		})
		t.Run("half lost/"+mode.String(), func(t *testing.T) {
			p := ns.open(t, false, mode)
			defer ns.sysctl(t, "net/ipv4/icmp_echo_ignore_all", "0")
			s := fastSpec("127.0.0.1")
			s.Packets = 4
			s.PacketInterval = 150 * time.Millisecond
			c := testChecker(t, s, p)
			// Packets leave at 0, 150, 300 and 450 ms; the loopback stops
			// answering at 225 ms: 2 of 4 lost = 50%, WARNING (20%..60%).
			go func() {
				time.Sleep(225 * time.Millisecond)
				ns.do(func() { os.WriteFile("/proc/sys/net/ipv4/icmp_echo_ignore_all", []byte("1"), 0o644) })
			}()
			r := runCheck(c, 1200*time.Millisecond)
			if r.Status != check.Warning || !strings.HasSuffix(r.Output, "ms, lost 50%") {
				t.Fatalf("%s %q", r.Status, r.PluginLine())
			}
		})
	}

	t.Run("IPv6 all lost", func(t *testing.T) {
		p := ns.open(t, true, modeUnprivileged)
		ns.sysctl(t, "net/ipv6/icmp/echo_ignore_all", "1")
		defer ns.sysctl(t, "net/ipv6/icmp/echo_ignore_all", "0")
		s := fastSpec("::1")
		s.Packets = 2
		r := runCheck(testChecker(t, s, p), 300*time.Millisecond)
		if r.Status != check.Critical || !strings.Contains(r.Output, "lost 100%") {
			t.Fatalf("%s %q", r.Status, r.PluginLine())
		}
	})

	// Neither socket allowed: unprivileged off for our group, and CAP_NET_RAW
	// dropped from this thread's effective set.
	t.Run("no socket allowed", func(t *testing.T) {
		ns.sysctl(t, "net/ipv4/ping_group_range", "1 0")
		defer ns.sysctl(t, "net/ipv4/ping_group_range", "0 2147483647")
		var err, capErr error
		ns.do(func() {
			hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
			var data [2]unix.CapUserData
			if capErr = unix.Capget(&hdr, &data[0]); capErr != nil {
				return
			}
			saved := data
			data[0].Effective &^= 1 << unix.CAP_NET_RAW
			if capErr = unix.Capset(&hdr, &data[0]); capErr != nil {
				return
			}
			_, err = openAny(false, modeAuto)
			capErr = unix.Capset(&hdr, &saved[0])
		})
		if capErr != nil {
			t.Skipf("cannot change capabilities: %v", capErr)
		}
		if err == nil {
			t.Fatal("opened a socket without permission")
		}
		msg := err.Error()
		for _, want := range []string{"unprivileged ICMP socket: permission denied", "net.ipv4.ping_group_range = 1 0", "raw ICMP socket: operation not permitted (needs root or cap_net_raw)"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not say %q", msg, want)
			}
		}
	})
}
