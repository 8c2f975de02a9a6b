//go:build !unix

package pingcheck

import (
	"errors"
	"net"
)

func listenDatagram(v6 bool) (net.PacketConn, error) {
	return nil, errors.New("unprivileged ICMP sockets are not supported on this system")
}
