//go:build unix && !linux

package agent

import "golang.org/x/sys/unix"

// unameDomain: uname(3) has no domain name outside Linux.
func unameDomain(unix.Utsname) string { return "(none)" }
