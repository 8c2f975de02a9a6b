//go:build !unix

package cli

import (
	"os"
	"os/exec"
)

var runSignals = []os.Signal{os.Interrupt}

func ownProcessGroup(cmd *exec.Cmd) {}

func signalGroup(cmd *exec.Cmd, sig os.Signal) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}

func exitStatus(ps *os.ProcessState) (code int, signal string) { return ps.ExitCode(), "" }
