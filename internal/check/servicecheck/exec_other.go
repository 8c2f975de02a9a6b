//go:build !unix

package servicecheck

import "os/exec"

// setProcessGroup: without Unix process groups the deadline kills the
// command itself (exec.CommandContext's default).
func setProcessGroup(cmd *exec.Cmd) {}
