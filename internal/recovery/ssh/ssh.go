// Package ssh is the `ssh` recovery action: a command over SSH, for hosts
// without an agent. The server's host key is verified against a
// known_hosts file (unknown or changed keys are refused); the client
// authenticates with a private key or a password, both secret references.
package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/recovery/action"
)

// MaxOutput bounds the output tail kept.
const MaxOutput = 16 << 10

// Spec configures the action.
type Spec struct {
	Host       string       `yaml:"host" help:"SSH server (default: the check's host address)"`
	Port       int          `yaml:"port" help:"SSH port (default 22)"`
	User       string       `yaml:"user" required:"true" help:"login user"`
	Command    string       `yaml:"command" required:"true" help:"the command line to run (e.g. sudo systemctl restart nginx)"`
	KnownHosts string       `yaml:"known_hosts" required:"true" help:"known_hosts file the server's key must be in"`
	Key        check.Secret `yaml:"key" help:"private key (PEM/OpenSSH), usually file:/path"`
	Passphrase check.Secret `yaml:"passphrase" help:"the key's passphrase"`
	Password   check.Secret `yaml:"password" help:"password (instead of or after the key)"`
}

func init() {
	action.Register(&action.Kind{Name: "ssh", Summary: "run a command over SSH (known_hosts verified)",
		New: func() action.Spec { return &Spec{Port: 22} }})
}

// Validate implements action.Spec.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	if s.Key.IsZero() && s.Password.IsZero() {
		errs = append(errs, check.Errf("key", "give key: or password: (a secret reference)"))
	}
	if s.Port < 1 || s.Port > 65535 {
		errs = append(errs, check.Errf("port", "must be 1..65535"))
	}
	return errs
}

// New implements action.Spec.
func (s *Spec) New(env action.Env) (action.Action, error) {
	cb, err := knownhosts.New(s.KnownHosts)
	if err != nil {
		return nil, fmt.Errorf("known_hosts: %w", err)
	}
	var auths []xssh.AuthMethod
	if !s.Key.IsZero() {
		var signer xssh.Signer
		if s.Passphrase.IsZero() {
			signer, err = xssh.ParsePrivateKey([]byte(s.Key.Reveal()))
		} else {
			signer, err = xssh.ParsePrivateKeyWithPassphrase([]byte(s.Key.Reveal()), []byte(s.Passphrase.Reveal()))
		}
		if err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
		auths = append(auths, xssh.PublicKeys(signer))
	}
	if !s.Password.IsZero() {
		pw := s.Password.Reveal()
		auths = append(auths, xssh.Password(pw), xssh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
			ans := make([]string, len(qs))
			for i := range ans {
				ans[i] = pw
			}
			return ans, nil
		}))
	}
	return &act{spec: *s, auth: auths, hostKey: cb}, nil
}

type act struct {
	spec    Spec
	auth    []xssh.AuthMethod
	hostKey xssh.HostKeyCallback
}

func (a *act) addr(t action.Target) string {
	host := a.spec.Host
	if host == "" {
		host = t.Address
	}
	return net.JoinHostPort(host, strconv.Itoa(a.spec.Port))
}

func (a *act) Describe(t action.Target) string {
	return fmt.Sprintf("ssh %s@%s: %s", a.spec.User, a.addr(t), a.spec.Command)
}

func (a *act) Run(ctx context.Context, t action.Target) action.Result {
	if t.DryRun {
		return action.Result{DryRun: true, Output: "dry run: would run " + a.Describe(t)}
	}
	if a.spec.Host == "" && t.Address == "" {
		return action.Result{ExitCode: -1, Error: "no SSH host: set host: or declare the check under a host with an address"}
	}
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", a.addr(t))
	if err != nil {
		return action.Result{ExitCode: -1, Error: "connect: " + err.Error()}
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	cfg := &xssh.ClientConfig{User: a.spec.User, Auth: a.auth, HostKeyCallback: a.hostKey, Timeout: timeout}
	cc, chans, reqs, err := xssh.NewClientConn(conn, a.addr(t), cfg)
	if err != nil {
		conn.Close()
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			if len(ke.Want) == 0 {
				return action.Result{ExitCode: -1, Error: fmt.Sprintf("refused: the host key of %s is not in %s", a.addr(t), a.spec.KnownHosts)}
			}
			return action.Result{ExitCode: -1, Error: fmt.Sprintf("refused: the host key of %s does not match %s (changed key?)", a.addr(t), a.spec.KnownHosts)}
		}
		return action.Result{ExitCode: -1, Error: "ssh: " + err.Error()}
	}
	client := xssh.NewClient(cc, chans, reqs)
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return action.Result{ExitCode: -1, Error: "ssh session: " + err.Error()}
	}
	defer sess.Close()
	var out lockedBuffer // stdout and stderr are copied by two goroutines
	sess.Stdout, sess.Stderr = &out, &out
	err = sess.Run(a.spec.Command)
	r := action.Result{Output: tail(out.Bytes())}
	var ee *xssh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.ExitCode = ee.ExitStatus()
	case ctx.Err() != nil:
		r.ExitCode, r.Error = -1, fmt.Sprintf("timed out after %s", timeout)
	default:
		r.ExitCode, r.Error = -1, err.Error()
	}
	return r
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Bytes()
}

func tail(b []byte) string {
	if len(b) > MaxOutput {
		b = b[len(b)-MaxOutput:]
	}
	return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
}
