//go:build unix

package agent

import (
	"context"

	"golang.org/x/sys/unix"
)

// uname reads the labels of node_uname_info from uname(2), as Node
// Exporter does.
func uname(context.Context) (map[string]string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return nil, err
	}
	s := func(b []byte) string { return unix.ByteSliceToString(b) }
	return map[string]string{"sysname": s(u.Sysname[:]), "release": s(u.Release[:]), "version": s(u.Version[:]),
		"machine": s(u.Machine[:]), "nodename": s(u.Nodename[:]), "domainname": unameDomain(u)}, nil
}
