//go:build !windows

package agent

import (
	"context"
	"fmt"
	"io"
)

// serviceCommand exists on Windows only: elsewhere the packages install a
// systemd unit.
func serviceCommand(_ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "mamori agent: service install|uninstall is for Windows; on Linux the package installs the systemd unit mamori-agent.service")
	return 2
}

func runAgent(run func(context.Context) error) error { return runUntilSignal(run) }

func serviceLog(stderr io.Writer) io.Writer { return stderr }
