package policy

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	_ "github.com/mamori/mamori/internal/recovery/all" // the action types the policies name
)

type portSpec struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
}

type urlSpec struct {
	URL string `yaml:"url"`
}

func decode(t *testing.T, src string, spec any) (*Policy, string) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	p, issues := Decode(doc.Content[0], spec)
	var msgs []string
	for _, i := range issues {
		msgs = append(msgs, i.Path+": "+i.Msg)
	}
	return p, strings.Join(msgs, "\n")
}

func TestDecodeDefaults(t *testing.T) {
	p, errs := decode(t, `[{action: service}, {action: reboot}, {action: command, command: fix, after: 1h}]`, &portSpec{Port: 80})
	if errs != "" {
		t.Fatal(errs)
	}
	if len(p.Steps) != 3 {
		t.Fatalf("%+v", p)
	}
	s0, s1, s2 := p.Steps[0], p.Steps[1], p.Steps[2]
	if s0.After != 20*time.Minute || s1.After != 25*time.Minute || s2.After != time.Hour {
		t.Errorf("after: %s %s %s", s0.After, s1.After, s2.After)
	}
	if s0.VerifyWithin != 2*time.Minute || s0.Timeout != 5*time.Minute {
		t.Errorf("verify_within %s timeout %s", s0.VerifyWithin, s0.Timeout)
	}
	if s0.Service != "nginx" {
		t.Errorf("service from port 80: %q", s0.Service)
	}
	if s0.Kind.Name != "service" || !s0.Kind.ViaAgent {
		t.Errorf("kind %+v", s0.Kind)
	}
}

func TestDecodeMappingFormAndPorts(t *testing.T) {
	p, errs := decode(t, `
budget: {max: 2, per: 30m}
dry_run: true
steps:
  - {after: 2s, action: service, verify_within: 20s}
`, &urlSpec{URL: "https://example.com/x"})
	if errs != "" {
		t.Fatal(errs)
	}
	if !p.DryRun || p.Budget != (Budget{2, 30 * time.Minute}) || p.Steps[0].Service != "nginx" || p.Steps[0].After != 2*time.Second {
		t.Errorf("%+v", p)
	}
	for port, want := range map[int]string{21: "vsftpd", 22: "sshd", 25: "postfix", 53: "named", 443: "nginx", 110: "dovecot", 143: "dovecot", 3306: "mysqld", 5432: "postgresql", 8080: ""} {
		if got := ServiceForPort(port); got != want {
			t.Errorf("port %d: %q, want %q", port, got, want)
		}
	}
	if p, errs := decode(t, `default`, &portSpec{Port: 3306}); errs != "" || p.Steps[0].Service != "mysqld" || p.Steps[0].After != DefaultFirstAfter {
		t.Errorf("default: %v %+v", errs, p)
	}
	// The seeds' rule: restart the service, then reboot 20 minutes later.
	if p, errs := decode(t, `default`, &portSpec{Port: 80}); errs != "" || len(p.Steps) != 2 || p.Steps[0].Kind.Name != "service" ||
		p.Steps[1].Kind.Name != "reboot" || p.Steps[1].After != 2*DefaultFirstAfter {
		t.Errorf("default: %v %+v", errs, p)
	}
	for port, want := range map[int][]string{25: {"postfix", "sendmail"}, 80: {"nginx", "httpd", "apache2"}} {
		if got := Ports[port]; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("port %d: %v, want %v", port, got, want)
		}
	}
	if PortOf(&urlSpec{URL: "http://h:8080/"}) != 8080 || PortOf(nil) != 0 {
		t.Error("PortOf")
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{`[{action: restart}]`, `recovery[0].action: unknown action "restart"`},
		{`[{action: service}]`, `recovery[0].service: is required`},
		{`[{action: command}]`, `recovery[0].command: is required`},
		{`[{action: command, command: "rm -rf /"}]`, `is not an allowlist name`},
		{`[{action: command, command: x, aftr: 1m}]`, `recovery[0].aftr: unknown field`},
		{`[{action: command, command: x, after: 5m}, {action: reboot, after: 1m}]`, `recovery[1].after: is 1m0s, before the previous step's 5m0s`},
		{`[{action: command, command: x, verify_within: 10ms}]`, `verify_within: must be at least 1s`},
		{`{steps: [{action: reboot}], budget: {max: -1, per: 1h}}`, `recovery.budget: max must be at least 1`},
		{`{budget: 3/1h}`, `recovery.steps: is required`},
		{`[]`, `needs at least one step`},
		{`default`, `no well-known port`},
		{`[{action: ssh, user: u, command: c}]`, `known_hosts: is required`},
		{`[{action: aws_ec2, instance_id: bad, region: ap-northeast-1, access_key_id: a, secret_access_key: b}]`, `is not an instance id`},
		{`[{action: http, url: "ftp://x"}]`, `url: must be an http://`},
	}
	for _, c := range cases {
		_, errs := decode(t, c.src, &portSpec{})
		if !strings.Contains(errs, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.src, errs, c.want)
		}
	}
}

func TestDecodeGlobal(t *testing.T) {
	var doc yaml.Node
	yaml.Unmarshal([]byte(`{enabled: false, dry_run: true, budget_per_host: {max: 4, per: 2h}, budget_per_check: "1/10m"}`), &doc)
	g, issues := DecodeGlobal(doc.Content[0])
	if len(issues) > 0 {
		t.Fatal(issues)
	}
	if g.Enabled || !g.DryRun || g.HostBudget != (Budget{4, 2 * time.Hour}) || g.CheckBudget != (Budget{1, 10 * time.Minute}) {
		t.Errorf("%+v", g)
	}
	yaml.Unmarshal([]byte(`{enable: true}`), &doc)
	if _, issues := DecodeGlobal(doc.Content[0]); len(issues) != 1 || !strings.Contains(issues[0].Msg, "enabled") {
		t.Errorf("%+v", issues)
	}
}
