//go:build unix

package pingcheck

import (
	"net"
	"os"
	"syscall"
)

// listenDatagram opens an unprivileged ICMP ("ping") socket: SOCK_DGRAM with
// protocol ICMP/ICMPv6, allowed on Linux for the groups in
// net.ipv4.ping_group_range (and on macOS for everyone). The kernel fills in
// the echo ID (the socket's port) and delivers only this socket's replies.
func listenDatagram(v6 bool) (net.PacketConn, error) {
	family, proto := syscall.AF_INET, 1
	var sa syscall.Sockaddr = &syscall.SockaddrInet4{}
	if v6 {
		family, proto = syscall.AF_INET6, 58
		sa = &syscall.SockaddrInet6{}
	}
	s, err := syscall.Socket(family, syscall.SOCK_DGRAM, proto)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := syscall.Bind(s, sa); err != nil {
		syscall.Close(s)
		return nil, os.NewSyscallError("bind", err)
	}
	f := os.NewFile(uintptr(s), "icmp-datagram")
	defer f.Close()
	return net.FilePacketConn(f) // dups the descriptor
}
