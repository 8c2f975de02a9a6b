package config

import (
	"strings"
	"testing"
)

func TestZoneNeedsBroker(t *testing.T) {
	_, err := Parse("/etc/mamori/z.yaml", []byte(`hosts:
  - name: web01
    address: 10.0.0.5
    zone: z1
checks:
  - {name: a, type: ping, host: 127.0.0.1, zone: z2}
`))
	if err == nil {
		t.Fatal("zones without a broker accepted")
	}
	for _, want := range []string{`z.yaml:4:11: hosts[0].zone: zone "z1" needs broker:`, `z.yaml:6:50: checks[0].zone: zone "z2" needs broker:`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestZones(t *testing.T) {
	cfg, err := Parse("/etc/mamori/z.yaml", []byte(`broker: nats://127.0.0.1:4222
broker_creds: creds/server.creds
hosts:
  - name: web01
    address: 10.0.0.5
    zone: z1
    checks:
      - {name: port, type: ping}
      - {name: other, type: ping, zone: z9}
checks:
  - {name: central, type: ping, host: 127.0.0.1}
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Broker.URL != "nats://127.0.0.1:4222" || cfg.Broker.Creds != "/etc/mamori/creds/server.creds" {
		t.Fatalf("broker %+v", cfg.Broker)
	}
	for name, zone := range map[string]string{"web01/port": "z1", "web01/other": "z9", "central": ""} {
		if c := cfg.Check(name); c == nil || c.Zone != zone {
			t.Errorf("%s: zone %+v, want %q", name, c, zone)
		}
	}
	if strings.Contains(cfg.Check("web01/port").YAML, "zone") {
		t.Errorf("zone left in the spec: %q", cfg.Check("web01/port").YAML)
	}
}

func TestZoneRefused(t *testing.T) {
	_, err := Parse("/etc/mamori/z.yaml", []byte(`broker: http://x
hosts:
  - name: web01
    zone: "bad zone"
    checks:
      - {name: p, type: ping, on_agent: true, zone: z1}
`))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"broker: must be a nats://", `zone "bad zone"`, "checks[0].zone: an agent-side check"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
