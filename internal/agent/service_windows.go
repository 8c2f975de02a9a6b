package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// ServiceName is the agent's Windows service.
const ServiceName = "mamori-agent"

// serviceCommand runs `mamori-agent service install|uninstall [flags]`:
// install registers this executable as an automatically started service
// that runs with the given flags (e.g. --config C:\ProgramData\mamori\agent.yaml)
// and restarts after a failure; uninstall stops and removes it.
func serviceCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "install" && args[0] != "uninstall") {
		fmt.Fprintln(stderr, "usage: mamori-agent service install [agent flags] | service uninstall")
		return 2
	}
	m, err := mgr.Connect()
	if err != nil {
		fmt.Fprintf(stderr, "mamori agent: the service manager: %v (run as Administrator)\n", err)
		return 1
	}
	defer m.Disconnect()
	if args[0] == "uninstall" {
		return uninstallService(m, stdout, stderr)
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "mamori agent: %v\n", err)
		return 1
	}
	s, err := m.CreateService(ServiceName, exe, mgr.Config{DisplayName: "mamori agent", StartType: mgr.StartAutomatic,
		Description: "Sends this host's metrics and check results to the mamori server and runs its allowlisted recovery actions."}, args[1:]...)
	if err != nil {
		fmt.Fprintf(stderr, "mamori agent: install the service: %v\n", err)
		return 1
	}
	defer s.Close()
	restart := []mgr.RecoveryAction{{Type: mgr.ServiceRestart, Delay: 5 * time.Second}, {Type: mgr.ServiceRestart, Delay: 30 * time.Second}}
	if err := s.SetRecoveryActions(restart, 86400); err != nil {
		fmt.Fprintf(stderr, "mamori agent: service restart on failure: %v\n", err)
	}
	if err := s.Start(); err != nil {
		fmt.Fprintf(stderr, "mamori agent: installed, but it did not start: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "installed and started the Windows service %s (%s %v); its log: %s\n", ServiceName, exe, args[1:], serviceLogPath())
	return 0
}

func uninstallService(m *mgr.Mgr, stdout, stderr io.Writer) int {
	s, err := m.OpenService(ServiceName)
	if err != nil {
		fmt.Fprintf(stderr, "mamori agent: no service %s: %v\n", ServiceName, err)
		return 1
	}
	defer s.Close()
	if st, err := s.Control(svc.Stop); err == nil {
		for i := 0; i < 50 && st.State != svc.Stopped; i++ {
			time.Sleep(200 * time.Millisecond)
			if st, err = s.Query(); err != nil {
				break
			}
		}
	}
	if err := s.Delete(); err != nil {
		fmt.Fprintf(stderr, "mamori agent: remove the service: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "removed the Windows service %s\n", ServiceName)
	return 0
}

func serviceLogPath() string {
	base := os.Getenv("ProgramData")
	if base == "" {
		base = `C:\ProgramData`
	}
	return filepath.Join(base, "mamori", "agent.log")
}

// runAgent runs run until the process is told to stop: by the service
// manager when started as a Windows service (its log then goes to
// %ProgramData%\mamori\agent.log), else by Ctrl-C.
func runAgent(run func(context.Context) error) error {
	if ok, err := svc.IsWindowsService(); err != nil || !ok {
		return runUntilSignal(run)
	}
	return svc.Run(ServiceName, &service{run: run})
}

// serviceLog is where a service's log goes (stderr is nowhere).
func serviceLog(stderr io.Writer) io.Writer {
	if ok, err := svc.IsWindowsService(); err != nil || !ok {
		return stderr
	}
	p := serviceLogPath()
	_ = os.MkdirAll(filepath.Dir(p), 0o750)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return stderr
	}
	return f
}

type service struct{ run func(context.Context) error }

// Execute implements svc.Handler.
func (s *service) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.run(ctx) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				return true, 1
			}
			return false, 0
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending}
				cancel()
			}
		}
	}
}
