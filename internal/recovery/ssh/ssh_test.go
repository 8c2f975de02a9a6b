package ssh

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
	"github.com/mamori/mamori/internal/recovery/action"
)

// hostKeyOf reads the server's host key (as an operator would with ssh-keyscan).
func hostKeyOf(t *testing.T, addr string) xssh.PublicKey {
	var key xssh.PublicKey
	cfg := &xssh.ClientConfig{User: "nobody", Timeout: 5 * time.Second,
		HostKeyCallback: func(_ string, _ net.Addr, k xssh.PublicKey) error { key = k; return nil }}
	c, err := xssh.Dial("tcp", addr, cfg)
	if err == nil {
		c.Close()
	}
	if key == nil {
		t.Fatalf("no host key from %s: %v", addr, err)
	}
	return key
}

func TestSSHAgainstRealServer(t *testing.T) {
	addr := checktest.Daemon(t, "sshd", "MAMORI_ITEST_SSH_PORT", "2222")
	host, port, _ := net.SplitHostPort(addr)
	dir := t.TempDir()
	known := filepath.Join(dir, "known_hosts")
	os.WriteFile(known, []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, hostKeyOf(t, addr))+"\n"), 0o600)
	user := checktest.Env("MAMORI_ITEST_USER", "mtest")
	spec := &Spec{Host: host, User: user, Command: "echo recovered-$((40+2)); echo to-stderr >&2; exit 3", KnownHosts: known,
		Password: check.NewSecret(checktest.Env("MAMORI_ITEST_PASSWORD", "mtestpass"))}
	spec.Port = atoi(port)
	if errs := spec.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	a, err := spec.New(action.Env{})
	if err != nil {
		t.Fatal(err)
	}
	res := a.Run(context.Background(), action.Target{Timeout: 20 * time.Second})
	if res.ExitCode != 3 || !strings.Contains(res.Output, "recovered-42") || res.Error != "" {
		t.Errorf("password: %+v", res)
	}
	// With the private key instead, when the test setup has one.
	if keyPath := os.Getenv("MAMORI_ITEST_SSH_KEY"); keyPath != "" {
		if _, err := os.Stat(keyPath); err == nil {
			ks, _ := check.ResolveSecret("file:" + keyPath)
			spec2 := *spec
			spec2.Password, spec2.Key, spec2.Command = check.Secret{}, ks, "true"
			a2, err := spec2.New(action.Env{})
			if err != nil {
				t.Fatal(err)
			}
			if res := a2.Run(context.Background(), action.Target{Timeout: 20 * time.Second}); !res.OK() {
				t.Errorf("key: %+v", res)
			}
		}
	}
	// An unknown host key is refused before anything runs.
	empty := filepath.Join(dir, "empty_known_hosts")
	os.WriteFile(empty, nil, 0o600)
	spec.KnownHosts = empty
	a, _ = spec.New(action.Env{})
	if res := a.Run(context.Background(), action.Target{Timeout: 20 * time.Second}); res.OK() || !strings.Contains(res.Error, "is not in") {
		t.Errorf("unknown key: %+v", res)
	}
	// A different key for the host is refused too.
	_, priv, _ := generateKey(t)
	os.WriteFile(known, []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, priv.PublicKey())+"\n"), 0o600)
	spec.KnownHosts = known
	a, _ = spec.New(action.Env{})
	if res := a.Run(context.Background(), action.Target{Timeout: 20 * time.Second}); res.OK() || !strings.Contains(res.Error, "does not match") {
		t.Errorf("changed key: %+v", res)
	}
}

func TestSSHValidateAndDryRun(t *testing.T) {
	s := &Spec{Port: 22, User: "u", Command: "c", KnownHosts: "/nonexistent"}
	if errs := s.Validate(); len(errs) != 1 || errs[0].Field != "key" {
		t.Errorf("%v", errs)
	}
	s.Password = check.NewSecret("pw")
	if _, err := s.New(action.Env{}); err == nil {
		t.Error("a missing known_hosts file was accepted")
	}
	known := filepath.Join(t.TempDir(), "kh")
	os.WriteFile(known, nil, 0o600)
	s.KnownHosts = known
	a, err := s.New(action.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if r := a.Run(context.Background(), action.Target{Address: "192.0.2.1", DryRun: true}); !r.DryRun || !strings.Contains(r.Output, "ssh u@192.0.2.1:22: c") {
		t.Errorf("%+v", r)
	}
}
