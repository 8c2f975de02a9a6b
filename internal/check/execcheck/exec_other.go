//go:build !unix

package execcheck

import "os/exec"

// setProcessGroup: without Unix process groups a timeout kills the plugin
// process itself (exec.CommandContext's default); children it started may
// outlive it. WaitDelay still bounds how long their open pipes can hold the
// check.
func setProcessGroup(cmd *exec.Cmd) {}
