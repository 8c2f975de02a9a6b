//go:build !unix

package agent

import (
	"context"
	"strings"

	"github.com/shirou/gopsutil/v4/host"
)

// uname builds the labels of node_uname_info from the host's information
// where there is no uname(2) (Windows).
func uname(ctx context.Context) (map[string]string, error) {
	h, err := host.InfoWithContext(ctx)
	if err != nil {
		return nil, err
	}
	sys := h.OS
	if sys != "" {
		sys = strings.ToUpper(sys[:1]) + sys[1:]
	}
	return map[string]string{"sysname": sys, "release": h.KernelVersion, "version": h.PlatformVersion,
		"machine": h.KernelArch, "nodename": h.Hostname, "domainname": "(none)"}, nil
}
