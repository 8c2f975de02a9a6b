//go:build !unix

package httpcheck

import "net"

// probesIdle: idle connections are probed before reuse. Not here: a
// request that fails on a connection the server closed is retried when it
// may be (RoundTrip).
const probesIdle = false

type idleProbe struct{}

func (*idleProbe) init(net.Conn) {}

func (*idleProbe) idleAlive() bool { return true }
