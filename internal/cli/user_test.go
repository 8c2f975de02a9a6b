package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/store/sqlite"
)

func userTestConfig(t *testing.T) (cfgPath, dataDir string) {
	t.Helper()
	dir := t.TempDir()
	dataDir = filepath.Join(dir, "data")
	cfgPath = filepath.Join(dir, "mamori.yaml")
	if err := os.WriteFile(cfgPath, []byte("listen: 127.0.0.1:0\ndata_dir: "+dataDir+"\ntenants:\n  - name: acme\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := userAuthOptions
	userAuthOptions = []auth.Option{auth.WithParams(auth.Params{Time: 1, MemoryKiB: 64, Threads: 1})}
	t.Cleanup(func() { userAuthOptions = old })
	return cfgPath, dataDir
}

type run struct {
	code           int
	stdout, stderr string
}

func runCmd(fn func([]string, io.Writer, io.Writer) int, stdin string, args ...string) run {
	var out, errb bytes.Buffer
	old := userStdin
	userStdin = strings.NewReader(stdin)
	defer func() { userStdin = old }()
	code := fn(args, &out, &errb)
	return run{code, out.String(), errb.String()}
}

func TestCmdUser(t *testing.T) {
	cfg, dataDir := userTestConfig(t)
	for _, tc := range []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout string // regexp
		stderr string // regexp
	}{
		{"no args", "", nil, 2, `^$`, `usage:`},
		{"help", "", []string{"--help"}, 0, `mamori user add NAME`, `^$`},
		{"add help", "", []string{"add", "-h"}, 0, `^$`, `--role`},
		{"unknown sub", "", []string{"frob"}, 2, `^$`, `unknown user command "frob"`},
		{"no role", "", []string{"add", "alice", "--config", cfg}, 2, `^$`, `needs --role`},
		{"bad role", "", []string{"add", "alice", "--role", "root", "--config", cfg}, 2, `^$`, `unknown role "root"; use admin, operator, customer or viewer`},
		{"customer without tenant", "", []string{"add", "alice", "--role", "customer", "--config", cfg}, 2, `^$`, `customer needs --tenant`},
		{"viewer without tenant", "", []string{"add", "alice", "--role", "viewer", "--config", cfg}, 2, `^$`, `viewer needs --tenant`},
		{"admin with tenant", "", []string{"add", "alice", "--role", "admin", "--tenant", "acme", "--config", cfg}, 2, `^$`, `admin sees all tenants: drop --tenant`},
		{"bad name", "", []string{"add", "al ice", "--role", "admin", "--config", cfg}, 2, `^$`, `invalid user name`},
		{"bad lang", "", []string{"add", "alice", "--role", "admin", "--lang", "fr", "--config", cfg}, 2, `^$`, `unknown language "fr"`},
		{"no name", "", []string{"add", "--role", "admin", "--config", cfg}, 2, `^$`, `takes 1 argument`},
		{"short password", "short\n", []string{"add", "alice", "--role", "admin", "--password-stdin", "--config", cfg}, 2, `^$`, `at least 12 characters`},
		{"password is name", "administrator\n", []string{"add", "administrator", "--role", "admin", "--password-stdin", "--config", cfg}, 2, `^$`, `must not be the user name`},
		{"empty stdin", "", []string{"add", "alice", "--role", "admin", "--password-stdin", "--config", cfg}, 2, `^$`, `no password on standard input`},
		{"add admin, generated password", "", []string{"add", "root", "--role", "admin", "--config", cfg}, 0,
			`^user root added: role admin, all tenants\npassword: [A-Z2-7]{26}\n$`, `shown only this once`},
		{"add customer, password from stdin, flags first", "correct horse battery\r\n", []string{"add", "--config", cfg, "--role", "customer", "--tenant", "acme", "--lang", "ja", "--password-stdin", "acme-user"}, 0,
			`^user acme-user added: role customer, tenant acme\n$`, `^$`},
		{"add viewer", "", []string{"add", "watcher", "--role=viewer", "--tenant=acme", "--config=" + cfg}, 0, `role viewer, tenant acme`, ``},
		{"duplicate", "", []string{"add", "ROOT", "--role", "operator", "--config", cfg}, 1, `^$`, `user "ROOT" already exists`},
		{"list", "", []string{"list", "--config", cfg}, 0, `(?s)NAME +ROLE +TENANT +LANG +STATUS +CREATED\nacme-user +customer +acme +ja +enabled .*\nroot +admin +- +- +enabled .*\nwatcher +viewer +acme`, `^$`},
		{"passwd from stdin", "another good password\n", []string{"passwd", "acme-user", "--password-stdin", "--config", cfg}, 0, `password of acme-user changed`, ``},
		{"passwd generated", "", []string{"passwd", "watcher", "--config", cfg}, 0, `password: [A-Z2-7]{26}\n`, ``},
		{"passwd unknown", "", []string{"passwd", "nobody", "--config", cfg}, 1, `^$`, `no user "nobody"`},
		{"disable last admin", "", []string{"disable", "root", "--config", cfg}, 1, `^$`, `last enabled admin`},
		{"disable", "", []string{"disable", "watcher", "--config", cfg}, 0, `user watcher disabled`, ``},
		{"list shows disabled", "", []string{"list", "--config", cfg}, 0, `watcher +viewer +acme +- +disabled`, ``},
		{"enable", "", []string{"enable", "watcher", "--config", cfg}, 0, `user watcher enabled`, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCmd(cmdUser, tc.stdin, tc.args...)
			if r.code != tc.code || !regexp.MustCompile(tc.stdout).MatchString(r.stdout) || !regexp.MustCompile(tc.stderr).MatchString(r.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %q (want %s)\nstderr: %q (want %s)", r.code, tc.code, r.stdout, tc.stdout, r.stderr, tc.stderr)
			}
		})
	}

	// the passwords work
	st, err := sqlite.Open(context.Background(), dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := auth.New(st, nil, nil)
	if _, err := svc.Login(context.Background(), "acme-user", "another good password", "127.0.0.1"); err != nil {
		t.Fatalf("password set by passwd: %v", err)
	}
}

func TestCmdToken(t *testing.T) {
	cfg, dataDir := userTestConfig(t)
	if r := runCmd(cmdUser, "", "add", "ops", "--role", "operator", "--config", cfg); r.code != 0 {
		t.Fatal(r)
	}
	if r := runCmd(cmdUser, "", "add", "cust", "--role", "customer", "--tenant", "acme", "--config", cfg); r.code != 0 {
		t.Fatal(r)
	}
	r := runCmd(cmdToken, "", "create", "cust", "--label", "grafana", "--expires", "90d", "--config", cfg)
	if r.code != 0 || !regexp.MustCompile(`^mamori_[A-Za-z0-9_-]{43}\n$`).MatchString(r.stdout) {
		t.Fatalf("token create: %+v", r)
	}
	tok := strings.TrimSpace(r.stdout)
	if !strings.Contains(r.stderr, `API token 1 "grafana" for cust (role customer, tenant acme), expires 20`) ||
		!strings.Contains(r.stderr, "curl -H 'Authorization: Bearer "+tok+"' http://127.0.0.1:0/api/v1/checks") {
		t.Fatalf("token create stderr: %s", r.stderr)
	}
	r2 := runCmd(cmdToken, "", "create", "ops", "--config", cfg)
	if r2.code != 0 || !strings.Contains(r2.stderr, `"cli" for ops (role operator, all tenants), expires never`) {
		t.Fatalf("token create default: %+v", r2)
	}

	st, err := sqlite.Open(context.Background(), dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := auth.New(st, nil, nil)
	if u, ok := svc.LookupToken(context.Background(), tok); !ok || u.Name != "cust" || u.Role != "customer" || u.Tenant != "acme" {
		t.Fatalf("created token does not authenticate: %+v %v", u, ok)
	}

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no args", nil, 2, `^$`, `usage:`},
		{"unknown user", []string{"create", "nobody", "--config", cfg}, 1, `^$`, `no user "nobody"`},
		{"bad expiry", []string{"create", "ops", "--expires", "90", "--config", cfg}, 2, `^$`, `give a unit`},
		{"bad expiry 2", []string{"create", "ops", "--expires", "soon", "--config", cfg}, 2, `^$`, `--expires "soon"`},
		{"list", []string{"list", "cust", "--config", cfg}, 0, `(?s)^ID +USER +LABEL +CREATED +LAST USED +EXPIRES\n1 +cust +grafana +\S+ \S+ +\S+ \S+ +20`, `^$`},
		{"revoke bad id", []string{"revoke", "x", "--config", cfg}, 2, `^$`, `takes the token's ID`},
		{"revoke", []string{"revoke", "1", "--config", cfg}, 0, `^token 1 revoked\n$`, `^$`},
		{"revoke again", []string{"revoke", "1", "--config", cfg}, 1, `^$`, `no token 1`},
		{"list after revoke", []string{"list", "cust", "--config", cfg}, 0, `^ID +USER +LABEL +CREATED +LAST USED +EXPIRES\n$`, `^$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCmd(cmdToken, "", tc.args...)
			if r.code != tc.code || !regexp.MustCompile(tc.stdout).MatchString(r.stdout) || !regexp.MustCompile(tc.stderr).MatchString(r.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %q (want %s)\nstderr: %q (want %s)", r.code, tc.code, r.stdout, tc.stdout, r.stderr, tc.stderr)
			}
		})
	}
	if _, ok := svc.LookupToken(context.Background(), tok); ok {
		t.Fatal("revoked token authenticates")
	}
}
