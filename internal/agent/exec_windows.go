//go:build windows

package agent

import (
	"os/exec"
	"syscall"
)

// setProcessGroup: on Windows the action gets a process group of its own
// (CREATE_NEW_PROCESS_GROUP); the timeout kills the process itself
// (exec.CommandContext's default), children it started may outlive it.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: 0x00000200}
}
