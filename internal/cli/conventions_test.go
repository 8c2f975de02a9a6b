package cli

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mamori/mamori/internal/check/all"
)

// Every command and subcommand answers --help and -h with its usage on
// stdout and exit 0, without touching anything.
func TestHelpExitsZeroEverywhere(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, d := range describe() {
		for _, h := range []string{"--help", "-h"} {
			args := []string{d.cmd.name}
			if d.sub != "" {
				args = append(args, d.sub)
			}
			args = append(args, h)
			var out, errb bytes.Buffer
			if code := Main(args, &out, &errb); code != 0 || out.Len() == 0 {
				t.Errorf("mamori %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out.String(), errb.String())
			}
		}
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"help", "host"}, {"check", "http", "--help"}} {
		var out bytes.Buffer
		if code := Main(args, &out, &out); code != 0 || out.Len() == 0 {
			t.Errorf("mamori %v: exit %d, %q", args, code, out.String())
		}
	}
	if ents, _ := os.ReadDir("."); len(ents) != 0 {
		t.Errorf("--help created files: %v", ents)
	}
}

func TestUnknownCommandSuggests(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main([]string{"serv"}, &out, &errb); code != 2 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(errb.String(), `did you mean "server"?`) {
		t.Errorf("no suggestion: %s", errb.String())
	}
}

// A server that cannot bind its port writes nothing to its data directory.
func TestServerBindsBeforeWriting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	data := filepath.Join(t.TempDir(), "data")
	var out, errb bytes.Buffer
	code := Main([]string{"server", "--listen", ln.Addr().String(), "--data-dir", data}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "address already in use") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("data directory created although the port was taken: %v", err)
	}
}

func TestCompletionAndManFromFlags(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		var out bytes.Buffer
		if code := Main([]string{"completion", sh}, &out, &out); code != 0 {
			t.Fatalf("completion %s: exit %d: %s", sh, code, out.String())
		}
		for _, want := range []string{"server", "data-dir", "rotate", "http"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("completion %s lacks %q", sh, want)
			}
		}
		if sh == "bash" {
			if bash, err := exec.LookPath("bash"); err == nil {
				cmd := exec.Command(bash, "-n")
				cmd.Stdin = &out
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("bash -n: %v: %s", err, b)
				}
			}
		}
	}
	var man bytes.Buffer
	if code := Main([]string{"man"}, &man, &man); code != 0 {
		t.Fatal(code)
	}
	for _, want := range []string{".TH MAMORI 1", `.SS mamori host add`, `\-\-rotate`, `\-\-data\-dir`} {
		if !strings.Contains(man.String(), want) {
			t.Errorf("man page lacks %q", want)
		}
	}
}
