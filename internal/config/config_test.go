package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/notify"
)

var update = flag.Bool("update", false, "rewrite golden files")

// probeSpec is a test-only check type.
type probeSpec struct {
	Host     string        `yaml:"host" help:"target"`
	Port     int           `yaml:"port"`
	Warning  time.Duration `yaml:"warning"`
	Password check.Secret  `yaml:"password"`
}

func (s *probeSpec) Validate() []check.FieldError {
	var errs []check.FieldError
	if s.Host == "" {
		errs = append(errs, check.Errf("host", "is required"))
	}
	if s.Port < 0 || s.Port > 65535 {
		errs = append(errs, check.Errf("port", "must be 1..65535"))
	}
	return errs
}
func (s *probeSpec) New(check.Env) (check.Checker, error) { return nil, nil }
func (s *probeSpec) DefaultHost(a string) {
	if s.Host == "" {
		s.Host = a
	}
}

// hookSpec is a test-only channel type.
type hookSpec struct {
	URL string `yaml:"url" required:"true"`
}

func (h *hookSpec) Validate() []check.FieldError            { return nil }
func (h *hookSpec) New(notify.Env) (notify.Notifier, error) { return nil, nil }

type phoneSpec struct{}

func (p *phoneSpec) Validate() []check.FieldError            { return nil }
func (p *phoneSpec) New(notify.Env) (notify.Notifier, error) { return nil, nil }

func init() {
	notify.Register(&notify.Kind{Name: "webhook", New: func() notify.Spec { return &hookSpec{} }})
	notify.Register(&notify.Kind{Name: "phone", Recipient: "phone", New: func() notify.Spec { return &phoneSpec{} }})
	for _, name := range []string{"probe", "ping"} {
		check.Register(&check.Kind{Name: name, Timeout: 10 * time.Second, New: func() check.Spec { return &probeSpec{Port: 7} }})
	}
}

func TestValidConfig(t *testing.T) {
	t.Setenv("PROBE_PW", "hunter2")
	cfg, err := Load("testdata/valid.yaml")
	if err != nil {
		t.Fatalf("valid config rejected:\n%v", err)
	}
	if cfg.Listen != "127.0.0.1:9999" || cfg.DataDir != "./data" {
		t.Errorf("listen %q data_dir %q", cfg.Listen, cfg.DataDir)
	}
	top := cfg.Check("top")
	if top == nil || top.Interval != 5*time.Minute || top.Attempts != 4 || top.Timeout != 10*time.Second || top.RetryInterval != 5*time.Minute {
		t.Fatalf("defaults not applied: %+v", top)
	}
	if pw := top.Spec.(*probeSpec).Password.Reveal(); pw != "hunter2" {
		t.Errorf("${ENV} secret resolved to %q", pw)
	}
	web := cfg.Check("web1/svc")
	if web == nil {
		t.Fatal("host check not found by full name")
	}
	if got := web.Spec.(*probeSpec).Host; got != "10.0.0.5" {
		t.Errorf("host address not defaulted: %q", got)
	}
	if web.Interval != time.Minute || web.RetryInterval != 10*time.Second || web.Attempts != 2 || web.Tenant != "acme" {
		t.Errorf("own settings lost: %+v", web)
	}
	if strings.Join(web.Parents, ",") != "top,web1/ping" {
		t.Errorf("parents %v, want depends_on then the host check", web.Parents)
	}
	if p := cfg.Check("web1/ping"); len(p.Parents) != 0 {
		t.Errorf("the host check must not depend on itself: %v", p.Parents)
	}
	if inc := cfg.Check("included"); inc == nil || inc.Pos.File != filepath.Join("testdata", "conf.d", "extra.yaml") {
		t.Errorf("included check: %+v", inc)
	}
	if len(web.Notify) != 1 || web.Notify[0] != "ops" {
		t.Errorf("notify %v", web.Notify)
	}
}

func TestEveryErrorAtOnce(t *testing.T) {
	_, err := Load("testdata/broken.yaml")
	if err == nil {
		t.Fatal("broken config accepted")
	}
	golden(t, "testdata/broken.golden", err.Error()+"\n")
	es := err.(Errors)
	for _, e := range es {
		if e.File == "" || e.Line == 0 {
			t.Errorf("error without file and line: %+v", e)
		}
	}
}

func TestSyntaxErrorHasLine(t *testing.T) {
	// yaml.v3 places a block's syntax error at the block's start: the
	// sequence "- name: a" on line 3 (yaml.v3 counts parser errors from 0
	// and said 2; internal/yamlx corrects that for every YAML surface).
	_, err := Parse("bad.yaml", []byte("a: 1\nchecks:\n  - name: a\n   type: x\n"))
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:3") || !strings.Contains(err.Error(), "YAML syntax") {
		t.Fatalf("want a syntax error with its line, got %v", err)
	}
	_, err = Parse("dup.yaml", []byte("listen: a\nchecks:\n  - name: a\n    type: probe\n    host: x\n    host: y\n"))
	if err == nil || !strings.Contains(err.Error(), "dup.yaml:6:5: host: duplicate key (first at line 5)") {
		t.Fatalf("want a duplicate key error, got %v", err)
	}
}

func TestCycle(t *testing.T) {
	src := `
checks:
  - {name: a, type: probe, host: x, depends_on: [b]}
  - {name: b, type: probe, host: x, depends_on: [c]}
  - {name: c, type: probe, host: x, depends_on: [a]}
`
	_, err := Parse("cycle.yaml", []byte(src))
	if err == nil || strings.Count(err.Error(), "dependency cycle") != 1 || !strings.Contains(err.Error(), "a → b → c → a") {
		t.Fatalf("want one cycle error, got %v", err)
	}
}

func TestSecretFileAndMissingEnv(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("from-file\n"), 0o600)
	src := "checks:\n  - {name: a, type: probe, host: x, password: \"file:" + pw + "\"}\n  - {name: b, type: probe, host: x, password: \"${MAMORI_SURELY_UNSET_VAR}\"}\n"
	_, err := Parse("s.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "s.yaml:3") || !strings.Contains(err.Error(), "MAMORI_SURELY_UNSET_VAR is not set") {
		t.Fatalf("missing env var: %v", err)
	}
	cfg, err := Parse("s.yaml", []byte(strings.Split(src, "\n")[0]+"\n"+strings.Split(src, "\n")[1]+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Check("a").Spec.(*probeSpec).Password.Reveal(); got != "from-file" {
		t.Errorf("file: secret = %q", got)
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if string(want) != got {
		t.Errorf("mismatch with %s (run with -update to accept)\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func TestEscalations(t *testing.T) {
	src := `
channels:
  - {name: hook, type: webhook, url: "http://127.0.0.1:1/"}
  - {name: call, type: phone}
contacts:
  - {name: taro, phone: "+81312345678", lang: ja}
  - {name: hanako, email: hanako@example.jp}
escalations:
  - name: night
    repeat: 2
    levels:
      - after: 0s
        notify: [hook]
      - after: 10m
        notify: [{channel: call, contact: taro}]
checks:
  - {name: a, type: probe, host: x, notify: [night, hook]}
`
	cfg, err := Parse("e.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	e := cfg.Escalation("night")
	if e == nil || len(e.Levels) != 2 || e.Levels[1].After != 10*time.Minute || e.Levels[1].Targets[0] != (Target{Channel: "call", Contact: "taro"}) || e.RepeatAfter != 10*time.Minute {
		t.Fatalf("escalation %+v", e)
	}
	if cfg.Incidents.AckTarget != 10*time.Minute || cfg.Incidents.ReportTarget != 5*time.Minute || !cfg.Incidents.AutoResolves() {
		t.Fatalf("incident defaults %+v", cfg.Incidents)
	}
	bad := strings.Replace(src, "{channel: call, contact: taro}", "{channel: call, contact: hanako}, {channel: hook, contact: taro}, {channel: nope}", 1)
	bad = strings.Replace(bad, "notify: [night, hook]", "notify: [night, hook, nightt]", 1)
	bad = strings.Replace(bad, `phone: "+81312345678"`, `phone: "03-1234-5678"`, 1)
	_, err = Parse("e.yaml", []byte(bad))
	for _, want := range []string{
		`contacts[0].phone: must be an E.164 number`,
		`contact "hanako" has no phone for channel "call"`,
		`channel "hook" (webhook) has a fixed destination`,
		`unknown channel "nope"`,
		`unknown channel or escalation policy "nightt"`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want error %q in:\n%v", want, err)
		}
	}
}

func TestMaintenanceWindows(t *testing.T) {
	src := `
maintenance:
  - name: nightly
    hosts: [web1]
    weekly: {days: [平日], at: "02:00", duration: 2h}
  - name: broken
    cron: "61 * * * *"
    duration: 1h
  - colour: blue
    all: true
    start: 2026-12-01T00:00:00Z
    end: 2026-12-01T01:00:00Z
`
	_, err := Parse("m.yaml", []byte(src))
	if err == nil {
		t.Fatal("broken windows accepted")
	}
	for _, want := range []string{"m.yaml:6:5: maintenance[1]", "scope", "cron", `unknown maintenance window field "colour"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in:\n%v", want, err)
		}
	}
	cfg, err := Parse("m.yaml", []byte(strings.Split(src, "  - name: broken")[0]))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Maintenance) != 1 || cfg.Maintenance[0].Weekly == nil {
		t.Fatalf("windows %+v", cfg.Maintenance)
	}
}
