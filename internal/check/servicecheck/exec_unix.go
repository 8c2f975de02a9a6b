//go:build unix

package servicecheck

import (
	"os/exec"
	"syscall"
)

// setProcessGroup runs the status command in a process group of its own and
// kills the whole group when the check's deadline passes.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
}
