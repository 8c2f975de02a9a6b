//go:build unix

package httpcheck

import (
	"crypto/tls"
	"net"
	"syscall"
)

// probesIdle: idle connections are probed before reuse.
const probesIdle = true

// idleProbe tells whether an idle connection may still be used: a
// non-blocking read finds nothing to read. A server that closed it (end of
// stream, reset) or sent bytes nobody asked for makes it unusable. One
// system call; no goroutine watches idle connections. Made once per
// connection so that a probe allocates nothing.
type idleProbe struct {
	raw   syscall.RawConn
	read  func(fd uintptr) bool
	alive bool
	b     [1]byte
}

func (p *idleProbe) init(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	p.raw = raw
	p.read = func(fd uintptr) bool {
		_, err := syscall.Read(int(fd), p.b[:])
		p.alive = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true // never wait
	}
}

func (p *idleProbe) idleAlive() bool {
	if p.raw == nil {
		return true
	}
	p.alive = false
	return p.raw.Read(p.read) == nil && p.alive
}
