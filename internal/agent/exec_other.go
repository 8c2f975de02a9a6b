//go:build !unix && !windows

package agent

import "os/exec"

// setProcessGroup: no process groups here; the timeout kills the process.
func setProcessGroup(cmd *exec.Cmd) {}
