//go:build unix

package execcheck

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts the plugin in a process group of its own and makes
// a cancelled context kill that whole group, children included, as Nagios
// does on a timeout.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		// The group id is the plugin's pid (Setpgid with Pgid 0).
		if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
}
