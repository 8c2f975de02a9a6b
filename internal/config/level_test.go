package config

import (
	"strings"
	"testing"
)

// Incident levels: a check's own level wins over its host's, which wins
// over the default 2; escalation steps and targets take min_level.
func TestIncidentLevels(t *testing.T) {
	cfg, err := Parse("lv.yaml", []byte(`data_dir: /tmp/x
channels:
  - {name: chat, type: webhook, url: "http://127.0.0.1:1/"}
  - {name: phone, type: phone}
contacts:
  - {name: oncall, phone: "+81312345679"}
escalations:
  - name: bylevel
    levels:
      - {after: 0s, notify: [chat, {channel: phone, contact: oncall, min_level: 3}]}
      - {after: 10m, min_level: 2, notify: [{channel: phone, contact: oncall}]}
hosts:
  - name: db
    address: 127.0.0.1
    level: 3
    checks:
      - {name: own, type: probe, level: 1}
      - {name: inherits, type: probe}
  - name: web
    address: 127.0.0.1
    checks:
      - {name: plain, type: probe}
`))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"db/own": 1, "db/inherits": 3, "web/plain": DefaultLevel} {
		if got := cfg.Check(name).Level; got != want {
			t.Errorf("%s: level %d, want %d", name, got, want)
		}
	}
	pol := cfg.Escalation("bylevel")
	step0, step1 := pol.Levels[0], pol.Levels[1]
	if step0.Targets[1].MinLevel != 3 || step1.MinLevel != 2 {
		t.Fatalf("min_level not decoded: %+v", pol.Levels)
	}
	if step0.Applies(step0.Targets[1], 2) || !step0.Applies(step0.Targets[1], 3) || !step0.Applies(step0.Targets[0], 1) {
		t.Error("target min_level not applied")
	}
	if step1.Applies(step1.Targets[0], 1) || !step1.Applies(step1.Targets[0], 0) {
		t.Error("step min_level not applied (0 counts as the default 2)")
	}
}

func TestIncidentLevelErrors(t *testing.T) {
	_, err := Parse("bad.yaml", []byte(`data_dir: /tmp/x
channels:
  - {name: chat, type: webhook, url: "http://127.0.0.1:1/"}
escalations:
  - name: p
    levels:
      - {after: 0s, min_level: 0, notify: [{channel: chat, min_level: high}]}
hosts:
  - name: db
    level: 4
    checks:
      - {name: c, type: probe, level: -1}
`))
	if err == nil {
		t.Fatal("bad levels accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		"bad.yaml:7:32: escalations[0].levels[0].min_level: must be 1, 2 or 3",
		"bad.yaml:7:71: escalations[0].levels[0].notify[0].min_level: must be 1, 2 or 3",
		"bad.yaml:10:12: hosts[0].level: must be 1, 2 or 3",
		"bad.yaml:12:39: hosts[0].checks[0].level: must be 1, 2 or 3",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors lack %q:\n%s", want, msg)
		}
	}
}

// tickets: names channels and policies that exist; the customer channel
// addresses contacts; ticket contacts exist and are reachable on it.
func TestTicketsSection(t *testing.T) {
	base := `data_dir: /tmp/x
channels:
  - {name: chat, type: webhook, url: "http://127.0.0.1:1/"}
  - {name: phone, type: phone}
contacts:
  - {name: taro, phone: "+81312345679"}
  - {name: nophone}
`
	cfg, err := Parse("ok.yaml", []byte(base+`tenants:
  - {name: acme, ticket_contacts: [taro]}
tickets: {customer_channel: phone}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.OperatorTargets(); len(got) != 1 || got[0].Channel != "chat" {
		t.Errorf("default operator targets %+v, want the fixed-destination channel chat", got)
	}
	if got := cfg.TicketContacts("acme"); len(got) != 1 || got[0].Name != "taro" {
		t.Errorf("ticket contacts %+v", got)
	}
	cfg, err = Parse("none.yaml", []byte(base+"tickets: {notify: []}\n"))
	if err != nil || len(cfg.OperatorTargets()) != 0 {
		t.Errorf("notify: [] must tell no one: %v %v", cfg.OperatorTargets(), err)
	}
	_, err = Parse("bad.yaml", []byte(base+`tenants:
  - {name: acme, ticket_contacts: [nophone, ghost]}
tickets: {notify: [chta], customer_channel: chat}
`))
	for _, want := range []string{`tickets.notify: unknown channel or escalation policy "chta"`, `tickets.customer_channel: channel "chat" (webhook) has a fixed destination`,
		`tenants[0].ticket_contacts: unknown contact "ghost"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q: %v", want, err)
		}
	}
}
