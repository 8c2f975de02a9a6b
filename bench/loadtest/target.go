package main

// The target: the servers the checks probe, run in a child process (this
// same binary, re-executed with targetEnv set) so that its CPU is measured
// apart from mamori's.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// targetEnv holds "TYPE:PORTS:PROCS" in the child.
const targetEnv = "MAMORI_BENCH_TARGET"

// runTarget is the child's main: listen on loopback ports, print
// "READY p1,p2,...", serve until stdin closes (the parent went away).
func runTarget(spec string) {
	parts := strings.Split(spec, ":")
	if len(parts) != 3 {
		fmt.Fprintf(os.Stderr, "target: bad %s=%q\n", targetEnv, spec)
		os.Exit(2)
	}
	typ := parts[0]
	nports, _ := strconv.Atoi(parts[1])
	if procs, _ := strconv.Atoi(parts[2]); procs > 0 {
		runtime.GOMAXPROCS(procs)
	}
	if _, _, err := raiseNofile(0); err != nil {
		fmt.Fprintf(os.Stderr, "target: %v\n", err)
	}
	// The kernel caps every listen backlog at net.core.somaxconn; Go asks
	// for that cap, so the backlog is as large as this machine allows.
	ports := make([]string, 0, nports)
	for i := 0; i < nports; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintf(os.Stderr, "target: listen: %v\n", err)
			os.Exit(1)
		}
		ports = append(ports, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
		switch typ {
		case "http":
			srv := &http.Server{
				Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Length", "2")
					w.Write([]byte("ok"))
				}),
				ReadHeaderTimeout: 30 * time.Second,
				// Idle keep-alive connections wait a whole interval between
				// checks: no idle timeout.
				ErrorLog: log.New(os.Stderr, "target: ", 0),
			}
			go srv.Serve(ln)
		case "tcp":
			// Accept and close at once, like a service the check only
			// connects to. Two acceptors per port.
			for k := 0; k < 2; k++ {
				go acceptClose(ln)
			}
		default:
			fmt.Fprintf(os.Stderr, "target: unknown type %q\n", typ)
			os.Exit(2)
		}
	}
	fmt.Printf("READY %s\n", strings.Join(ports, ","))
	io.Copy(io.Discard, os.Stdin) // returns when the parent closes stdin or dies
	os.Exit(0)
}

func acceptClose(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			fmt.Fprintf(os.Stderr, "target: accept: %v\n", err)
			time.Sleep(5 * time.Millisecond)
			continue
		}
		c.Close()
	}
}

// target is the parent's handle on the child.
type target struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	Ports []int
}

func startTarget(typ string, nports, procs int) (*target, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	// The target does not inherit GOMAXPROCS: a run that sets it for
	// mamori would otherwise change the target's processors too (and its
	// CPU, and how it answers), and -target-procs 0 means all CPUs.
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GOMAXPROCS=") })
	cmd.Env = append(env, fmt.Sprintf("%s=%s:%d:%d", targetEnv, typ, nports, procs))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	t := &target{cmd: cmd, stdin: stdin}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		io.Copy(io.Discard, stdout)
	}()
	select {
	case l, ok := <-line:
		if !ok || !strings.HasPrefix(l, "READY ") {
			t.Stop()
			return nil, fmt.Errorf("target did not start (said %q)", l)
		}
		for _, p := range strings.Split(strings.TrimPrefix(l, "READY "), ",") {
			n, err := strconv.Atoi(p)
			if err != nil {
				t.Stop()
				return nil, fmt.Errorf("target: bad port %q", p)
			}
			t.Ports = append(t.Ports, n)
		}
	case <-time.After(10 * time.Second):
		t.Stop()
		return nil, errors.New("target did not start within 10s")
	}
	return t, nil
}

// Pid is the child's process id.
func (t *target) Pid() int { return t.cmd.Process.Pid }

// Stop ends the child: close its stdin, then kill it if it lingers.
func (t *target) Stop() {
	t.stdin.Close()
	done := make(chan struct{})
	go func() { t.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.cmd.Process.Kill()
		<-done
	}
}
