package pingcheck

// The process-wide ICMP pinger.
//
// PERFORMANCE.md: a raw ICMP socket receives every echo reply that reaches
// the host, so one raw socket per check collapses past ~16 pings in flight
// (N sockets × N replies). mamori therefore opens ONE socket per address
// family and socket mode per process, lazily, and a reader goroutine per
// socket hands each reply to the check waiting for it, found by echo
// sequence number (and, on raw sockets, our echo ID and a per-socket token
// in the payload — other processes' replies arrive there too).
//
// Why not pro-bing: its Pinger owns its socket (one per Pinger, i.e. per
// check), exactly the pattern to avoid, and it allocates per packet. We open
// the sockets ourselves (datagram: sock_unix.go; raw: net.ListenPacket),
// marshal requests with golang.org/x/net/icmp, parse replies by hand (8 bytes
// of header, no allocation on the hot path), and use x/net/ipv4 and
// x/net/ipv6 to install kernel filters on raw sockets (a BPF program for
// "echo reply with our ID", the ICMPv6 type filter) so the host's other ICMP
// traffic is dropped before it reaches our queue. x/net is already a
// dependency of the module.

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// sockMode is how ICMP sockets are opened.
type sockMode int

const (
	modeAuto         sockMode = iota // unprivileged, else privileged
	modeUnprivileged                 // SOCK_DGRAM ICMP ("ping socket"): net.ipv4.ping_group_range
	modePrivileged                   // SOCK_RAW: root or cap_net_raw
)

var modeNames = map[string]sockMode{"auto": modeAuto, "unprivileged": modeUnprivileged, "privileged": modePrivileged}

func (m sockMode) String() string {
	switch m {
	case modeUnprivileged:
		return "unprivileged"
	case modePrivileged:
		return "privileged"
	}
	return "auto"
}

// reply is one echo reply delivered to a waiting check.
type reply struct {
	idx int // the packet's index within its check
	rtt time.Duration
}

// pending is an echo request waiting for its reply.
type pending struct {
	dst  netip.Addr
	sent time.Time
	idx  int
	ch   chan<- reply // buffered for every packet of the check: never blocks
}

// pinger is one ICMP socket shared by every check of its family and mode.
type pinger struct {
	v6    bool
	mode  sockMode // modeUnprivileged or modePrivileged
	conn  net.PacketConn
	id    int    // echo identifier on the wire (the kernel's for datagram sockets)
	token uint64 // first 8 payload bytes of our requests

	mu   sync.Mutex
	seq  uint16
	wait map[uint16]*pending
}

// openPinger opens a socket of the given family and mode (not auto) and
// starts its reader. It is used through sharedPinger, and directly by tests.
func openPinger(v6 bool, mode sockMode) (*pinger, error) {
	var conn net.PacketConn
	var err error
	switch {
	case mode == modeUnprivileged:
		conn, err = listenDatagram(v6)
	case v6:
		conn, err = net.ListenPacket("ip6:ipv6-icmp", "::")
	default:
		conn, err = net.ListenPacket("ip4:icmp", "0.0.0.0")
	}
	if err != nil {
		return nil, err
	}
	// Room for bursts of replies while the reader is busy (the kernel caps
	// it at net.core.rmem_max); an overflowing queue drops replies, i.e.
	// reports loss that is not on the network.
	if rb, ok := conn.(interface{ SetReadBuffer(int) error }); ok {
		_ = rb.SetReadBuffer(4 << 20)
	}
	var rnd [10]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		conn.Close()
		return nil, err
	}
	p := &pinger{
		v6:    v6,
		mode:  mode,
		conn:  conn,
		id:    int(binary.BigEndian.Uint16(rnd[:2])),
		token: binary.BigEndian.Uint64(rnd[2:]),
		wait:  make(map[uint16]*pending),
	}
	if ua, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		p.id = ua.Port // datagram sockets: the kernel puts its port in the echo ID
	}
	if mode == modePrivileged {
		// A raw socket sees all ICMP traffic of the host: let the kernel drop
		// what is not an echo reply (and, on IPv4, not for our ID) before it
		// is queued, so that other traffic does not cost us reads or space.
		if v6 {
			var f ipv6.ICMPFilter
			f.SetAll(true)
			f.Accept(ipv6.ICMPTypeEchoReply)
			_ = ipv6.NewPacketConn(conn).SetICMPFilter(&f)
		} else {
			_ = ipv4.NewPacketConn(conn).SetBPF(echoReplyFilter(p.id))
		}
	}
	go p.read()
	return p, nil
}

var shared struct {
	mu sync.Mutex
	p  map[[2]int]*pinger // [v6, mode]
}

// sharedPinger returns the process-wide pinger for the family and mode,
// opening it on first use. modeAuto takes an unprivileged socket if the
// system allows one, else a raw one; an open socket is kept for the life of
// the process. A failed open is not remembered, so fixing the permission
// takes effect at the next run.
func sharedPinger(v6 bool, mode sockMode) (*pinger, error) {
	b := 0
	if v6 {
		b = 1
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.p == nil {
		shared.p = make(map[[2]int]*pinger)
	}
	modes := []sockMode{mode}
	if mode == modeAuto {
		modes = []sockMode{modeUnprivileged, modePrivileged}
	}
	for _, m := range modes {
		if p := shared.p[[2]int{b, int(m)}]; p != nil {
			return p, nil
		}
	}
	p, err := openAny(v6, mode)
	if err != nil {
		return nil, err
	}
	shared.p[[2]int{b, int(p.mode)}] = p
	return p, nil
}

// openAny opens a socket in mode, or for modeAuto an unprivileged one if
// allowed, else a raw one; the error names what is missing for each.
func openAny(v6 bool, mode sockMode) (*pinger, error) {
	modes := []sockMode{mode}
	if mode == modeAuto {
		modes = []sockMode{modeUnprivileged, modePrivileged}
	}
	var errs []error
	for _, m := range modes {
		p, err := openPinger(v6, m)
		if err == nil {
			return p, nil
		}
		errs = append(errs, err)
	}
	return nil, socketError(v6, mode, errs)
}

// socketError explains what is missing when no ICMP socket could be opened.
func socketError(v6 bool, mode sockMode, errs []error) error {
	fam := "IPv4"
	if v6 {
		fam = "IPv6"
	}
	var parts []string
	for i, err := range errs {
		m := mode
		if mode == modeAuto {
			m = []sockMode{modeUnprivileged, modePrivileged}[i]
		}
		switch m {
		case modeUnprivileged:
			parts = append(parts, fmt.Sprintf("unprivileged ICMP socket: %v (group %d is not in net.ipv4.ping_group_range%s)",
				sysErr(err), os.Getegid(), groupRange()))
		default:
			parts = append(parts, fmt.Sprintf("raw ICMP socket: %v (needs root or cap_net_raw)", sysErr(err)))
		}
	}
	return fmt.Errorf("cannot open an %s ICMP socket: %s", fam, strings.Join(parts, "; "))
}

func groupRange() string {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ping_group_range")
	if err != nil {
		return ""
	}
	return " = " + strings.Join(strings.Fields(string(b)), " ")
}

func sysErr(err error) error {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return sysErr(oe.Err)
	}
	return err
}

// send registers and sends one echo request; its reply goes to ch. It
// returns the sequence number, which the caller forgets if no reply comes.
func (p *pinger) send(dst netip.Addr, size, idx int, ch chan<- reply) (uint16, error) {
	pd := &pending{dst: dst, idx: idx, ch: ch}
	p.mu.Lock()
	if len(p.wait) >= 1<<16-1 {
		p.mu.Unlock()
		return 0, errors.New("too many pings in flight")
	}
	for {
		p.seq++
		if _, busy := p.wait[p.seq]; !busy {
			break
		}
	}
	seq := p.seq
	p.wait[seq] = pd
	p.mu.Unlock()

	payload := make([]byte, size)
	if size >= 8 {
		binary.BigEndian.PutUint64(payload, p.token)
	}
	var typ icmp.Type = ipv4.ICMPTypeEcho
	if p.v6 {
		typ = ipv6.ICMPTypeEchoRequest
	}
	msg := icmp.Message{Type: typ, Body: &icmp.Echo{ID: p.id, Seq: int(seq), Data: payload}}
	b, err := msg.Marshal(nil) // ICMPv6 checksums are the kernel's
	if err != nil {
		p.forget(seq)
		return 0, err
	}
	var to net.Addr
	if p.mode == modeUnprivileged {
		to = &net.UDPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	} else {
		to = &net.IPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	}
	p.mu.Lock()
	pd.sent = time.Now()
	p.mu.Unlock()
	if _, err := p.conn.WriteTo(b, to); err != nil {
		p.forget(seq)
		return 0, err
	}
	return seq, nil
}

// echoReplyFilter is a BPF program for a raw IPv4 ICMP socket (which sees
// the IP header): accept ICMP echo replies with our ID, drop the rest.
func echoReplyFilter(id int) []bpf.RawInstruction {
	prog, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadMemShift{Off: 0},                                         // X = IP header length
		bpf.LoadIndirect{Off: 0, Size: 1},                                // A = ICMP type
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 0, SkipTrue: 3},          // not an echo reply
		bpf.LoadIndirect{Off: 4, Size: 2},                                // A = echo ID
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(id), SkipTrue: 1}, // not ours
		bpf.RetConstant{Val: 0x40000},                                    // accept
		bpf.RetConstant{Val: 0},                                          // drop
	})
	if err != nil {
		return nil
	}
	return prog
}

// forget drops a request whose reply is no longer awaited.
func (p *pinger) forget(seqs ...uint16) {
	p.mu.Lock()
	for _, s := range seqs {
		delete(p.wait, s)
	}
	p.mu.Unlock()
}

// read is the socket's reader goroutine: it runs for the life of the socket.
func (p *pinger) read() {
	buf := make([]byte, 65536)
	replyType := byte(0) // ICMP echo reply
	if p.v6 {
		replyType = 129 // ICMPv6 echo reply
	}
	for {
		n, from, err := p.conn.ReadFrom(buf)
		now := time.Now()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // a transient error; do not spin
			continue
		}
		// type, code, checksum, id, seq, data: parsed by hand, no allocation.
		b := buf[:n]
		if n < 8 || b[0] != replyType {
			continue
		}
		id, seq := int(binary.BigEndian.Uint16(b[4:6])), binary.BigEndian.Uint16(b[6:8])
		if p.mode == modePrivileged && id != p.id {
			continue // another process's ping
		}
		if n >= 16 && binary.BigEndian.Uint64(b[8:16]) != p.token {
			continue
		}
		src := addrOf(from)
		p.mu.Lock()
		pd := p.wait[seq]
		if pd != nil && (!src.IsValid() || src.WithZone("") == pd.dst.WithZone("")) {
			delete(p.wait, seq)
		} else {
			pd = nil
		}
		p.mu.Unlock()
		if pd != nil {
			pd.ch <- reply{idx: pd.idx, rtt: now.Sub(pd.sent)}
		}
	}
}

func addrOf(a net.Addr) netip.Addr {
	var ip net.IP
	var zone string
	switch v := a.(type) {
	case *net.UDPAddr:
		ip, zone = v.IP, v.Zone
	case *net.IPAddr:
		ip, zone = v.IP, v.Zone
	default:
		return netip.Addr{}
	}
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	return addr.Unmap().WithZone(zone)
}

// close closes the socket and ends its reader (test pingers only: the shared
// ones live as long as the process).
func (p *pinger) close() error { return p.conn.Close() }

// inFlight is the number of requests still awaiting a reply.
func (p *pinger) inFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.wait)
}
