package alerting

import (
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/config"
)

func testService(now time.Time) *Service {
	return &Service{secret: []byte("0123456789abcdef0123456789abcdef"), now: func() time.Time { return now },
		cfg: &config.Config{Listen: "127.0.0.1:8484"}}
}

func TestAckToken(t *testing.T) {
	now := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	s := testService(now)
	link := s.AckURL(42, "taro")
	if !strings.HasPrefix(link, "http://127.0.0.1:8484/ack/") {
		t.Fatalf("link %q", link)
	}
	tok := strings.TrimPrefix(link, "http://127.0.0.1:8484/ack/")
	id, who, err := s.ParseAckToken(tok)
	if err != nil || id != 42 || who != "taro" {
		t.Fatalf("parse: %d %q %v", id, who, err)
	}
	parts := strings.Split(tok, ".")
	for name, bad := range map[string]string{
		"other incident": "43." + strings.Join(parts[1:], "."),
		"other person":   parts[0] + "." + parts[1] + "." + encodeWho("hanako") + "." + parts[3],
		"bad signature":  strings.Join(parts[:3], ".") + ".00000000000000000000000000000000",
		"truncated":      strings.Join(parts[:3], "."),
		"garbage":        "x",
	} {
		if _, _, err := s.ParseAckToken(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	late := testService(now.Add(8 * 24 * time.Hour))
	late.secret = s.secret
	if _, _, err := late.ParseAckToken(tok); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired link: %v", err)
	}
	other := testService(now)
	other.secret = []byte("another secret, another server!!")
	if _, _, err := other.ParseAckToken(tok); err == nil {
		t.Error("a link signed by another server was accepted")
	}
}

func TestBackoff(t *testing.T) {
	prev := time.Duration(0)
	for attempt := 1; attempt <= 12; attempt++ {
		d := backoff(attempt)
		if d <= 0 || d > 6*time.Minute {
			t.Fatalf("attempt %d: %s", attempt, d)
		}
		if attempt <= 6 && d < prev/2 {
			t.Errorf("attempt %d: %s shrank from %s", attempt, d, prev)
		}
		prev = d
	}
	if d := backoff(1); d < 1600*time.Millisecond || d > 2400*time.Millisecond {
		t.Errorf("first retry after %s, want about 2s", d)
	}
}

func TestTargetsOf(t *testing.T) {
	cfg := &config.Config{
		Channels: []config.Channel{{Name: "chat"}, {Name: "mail"}},
		Escalations: []*config.Escalation{{Name: "night", Levels: []config.Level{
			{Targets: []config.Target{{Channel: "chat"}}},
			{After: 10 * time.Minute, Targets: []config.Target{{Channel: "mail", Contact: "taro"}}},
		}}},
	}
	if got := targetsOf(cfg, []string{"night", "mail"}, 0, 2); len(got) != 2 || got[0].Channel != "chat" || got[1].Channel != "mail" {
		t.Errorf("level 0: %+v", got)
	}
	if got := targetsOf(cfg, []string{"night", "mail"}, 1, 2); len(got) != 1 || got[0].Contact != "taro" {
		t.Errorf("level 1: %+v (a plain channel fires only at level 0)", got)
	}
	if p := policyOf(cfg, []string{"mail", "night"}); p == nil || p.Name != "night" {
		t.Errorf("policy %+v", p)
	}
}
