package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	t.Setenv("MAMORI_TEST_TOKEN", "s3cret")
	tokFile := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(tokFile, []byte("from-file\n"), 0o600)
	good := `server: https://mamori.example.net
token: ${MAMORI_TEST_TOKEN}
ca_file: /etc/mamori/ca.pem
client_cert: /c.pem
client_key: /k.pem
insecure_skip_verify: false
state_dir: /tmp/x
spool_max_bytes: 16MiB
action_timeout: 90s
hostname: web01
actions:
  restart_nginx: [systemctl, restart, nginx]
  reboot:
    - /sbin/shutdown
    - -r
    - now
`
	c, err := ParseConfig("agent.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.Server != "https://mamori.example.net" || c.Token.Reveal() != "s3cret" || c.Token.String() != "${MAMORI_TEST_TOKEN}" || c.SpoolMaxBytes != 16<<20 || c.ActionTimeout != 90*time.Second || len(c.Actions["reboot"]) != 3 || c.Hostname != "web01" || c.StateDir != "/tmp/x" {
		t.Fatalf("%+v", c)
	}
	if got := strings.Join(c.ActionNames(), ","); got != "reboot,restart_nginx" {
		t.Fatal(got)
	}
	c2, err := ParseConfig("a", []byte("token: file:"+tokFile+"\n"))
	if err != nil || c2.Token.Reveal() != "from-file" {
		t.Fatal(c2, err)
	}

	bad := []struct {
		yaml string
		want []string
	}{
		{"servr: https://x\n", []string{`a.yaml:1: servr: unknown key (did you mean "server"?)`}},
		{"server: ftp://x\n", []string{"a.yaml:1: server:", "scheme must be https"}},
		{"server: https://x\ntoken: ${NOPE_NOT_SET_X}\n", []string{"a.yaml:2: token: environment variable NOPE_NOT_SET_X is not set"}},
		{"spool_max_bytes: lots\n", []string{"a.yaml:1: spool_max_bytes:", "is not a size"}},
		{"spool_max_bytes: 10\n", []string{"too small"}},
		{"action_timeout: soon\n", []string{"a.yaml:1: action_timeout:"}},
		{"insecure_skip_verify: maybe\n", []string{"a.yaml:1: insecure_skip_verify:"}},
		{"actions:\n  restart: systemctl restart x\n", []string{"a.yaml:2: actions.restart: must be a list"}},
		{"actions:\n  'rm -rf': [rm]\n", []string{"actions.rm -rf", "is not an action name"}},
		{"actions:\n  x: []\n", []string{"needs at least the program"}},
		{"actions:\n  x: [[a]]\n", []string{"actions.x[0]: must be a string"}},
		{"actions: [a]\n", []string{"must be a mapping"}},
		{"server: [a]\n", []string{"a.yaml:1: server: must be a single value, not a list"}},
		{"- a\n", []string{"must be a mapping"}},
		{"server: https://x\nserver: https://y\n", []string{"a.yaml:2: server: given twice"}},
		{"server: 'unterminated\n", []string{"a.yaml:"}},
		{"servr: x\nspool_max_bytes: x\n", []string{"2 problems", "a.yaml:1: servr", "a.yaml:2: spool_max_bytes"}},
	}
	for _, tt := range bad {
		_, err := ParseConfig("a.yaml", []byte(tt.yaml))
		if err == nil {
			t.Errorf("%q: no error", tt.yaml)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q lacks %q", tt.yaml, err, w)
			}
		}
	}
}

func TestMergeAndFinish(t *testing.T) {
	file := Config{Server: "https://file", StateDir: "/file", Actions: map[string][]string{"a": {"true"}}}
	flags := Config{Server: "https://flag"}
	c := file.Merge(flags)
	if c.Server != "https://flag" || c.StateDir != "/file" || len(c.Actions) != 1 {
		t.Fatalf("%+v", c)
	}
	if err := c.Finish(); err == nil || !strings.Contains(err.Error(), "no token") {
		t.Fatalf("finish without a token: %v", err)
	}
	var empty Config
	if err := empty.Finish(); err == nil || !strings.Contains(err.Error(), "no server") {
		t.Fatal(err)
	}
	if empty.SpoolMaxBytes != DefaultSpoolMaxBytes || empty.ActionTimeout != DefaultActionTimeout || empty.StateDir == "" {
		t.Fatalf("defaults: %+v", empty)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1024": 1024, "64MiB": 64 << 20, "512KiB": 512 << 10, "1GiB": 1 << 30, "10MB": 10e6, " 2 M ": 2 << 20} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("%q: %d %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1", "MiB", "1.5MiB", "99999999999999999999"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("server: https://x\ntoken: abc\nactions:\n  a: [b, c]\n"))
	f.Add([]byte("spool_max_bytes: 64MiB\naction_timeout: 5m\n"))
	f.Add([]byte("actions:\n  x: [[a]]\n  y: {}\n"))
	f.Add([]byte("&a [1]\n"))
	f.Add([]byte("a: *b\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig("fuzz.yaml", b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for name, argv := range c.Actions {
			if !actionName.MatchString(name) || len(argv) == 0 || argv[0] == "" {
				t.Fatalf("accepted a bad action %q %q", name, argv)
			}
		}
		if c.SpoolMaxBytes < 0 || c.ActionTimeout < 0 {
			t.Fatal("negative")
		}
	})
}
