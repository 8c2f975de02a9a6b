package cli

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"testing"

	_ "github.com/mamori/mamori/internal/check/all"
)

func runCheckCLI(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cmdCheck(args, &out, &errOut)
	return out.String() + errOut.String(), code
}

// Monitoring Plugins users type -H -p -w -c -t and -V by habit; SPEC §8
// makes them part of `mamori check`, and --host/--port common flags.
func TestCheckNagiosShortOptions(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	out, code := runCheckCLI(t, "tcp", "-H", "127.0.0.1", "-p", port, "-w", "5", "-c", "10", "-t", "3")
	if code != 0 || !strings.HasPrefix(out, "TCP OK") {
		t.Fatalf("tcp with short options: %d %q", code, out)
	}
	for _, kind := range []string{"tcp", "http", "dns", "ssh", "exec"} {
		for _, flag := range []string{"-V", "--version"} {
			out, code := runCheckCLI(t, kind, flag)
			if code != 0 || !strings.Contains(out, "mamori") {
				t.Errorf("%s %s: %d %q", kind, flag, code, out)
			}
		}
	}

	// dns: -H/--host is the server, -p/--port its port.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	udpPort := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
	pc.Close() // nothing listens: the query is refused at once
	for _, args := range [][]string{
		{"dns", "--name", "app.test", "--server", "127.0.0.1", "--port", udpPort, "-t", "2"},
		{"dns", "--name", "app.test", "--host", "127.0.0.1", "--port", udpPort, "-t", "2"},
		{"dns", "--name", "app.test", "-H", "127.0.0.1", "-p", udpPort, "-w", "1", "-c", "2", "-t", "2"},
	} {
		out, code := runCheckCLI(t, args...)
		if code != 2 || !strings.Contains(out, "127.0.0.1:"+udpPort) || strings.Contains(out, "bad arguments") {
			t.Errorf("%v: %d %q", args, code, out)
		}
	}
}

// TestCheckListsAWSTypes: `mamori check --help` lists every AWS check type,
// the agent-side aws_efs among the agent's.
func TestCheckListsAWSTypes(t *testing.T) {
	out, code := runCheckCLI(t, "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	agent := strings.Index(out, "Agent check types")
	for _, k := range []string{"aws_ec2", "aws_rds", "aws_elb", "aws_s3", "aws_ses", "aws_elasticache", "aws_redshift", "aws_beanstalk",
		"aws_ecs", "aws_directory", "aws_vpn", "aws_logs", "aws_health", "cloudwatch", "aws_efs"} {
		i := strings.Index(out, "\n  "+k+" ")
		if i < 0 {
			t.Errorf("%s is not listed:\n%s", k, out)
		} else if (k == "aws_efs") != (i > agent) {
			t.Errorf("%s listed in the wrong group", k)
		}
	}
}
