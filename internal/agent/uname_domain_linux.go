package agent

import "golang.org/x/sys/unix"

func unameDomain(u unix.Utsname) string { return unix.ByteSliceToString(u.Domainname[:]) }
