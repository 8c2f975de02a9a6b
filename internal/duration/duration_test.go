package duration

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	const day = 24 * time.Hour
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"250ms", 250 * time.Millisecond},
		{"30s", 30 * time.Second},
		{"5m", 5 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"1.5h", 90 * time.Minute},
		{"10", 10 * time.Second},
		{"0.5", 500 * time.Millisecond},
		{" 2h ", 2 * time.Hour},
		{"0", 0},
		{"0s", 0},
		{"35d", 35 * day},
		{"2w", 14 * day},
		{"1d12h", 36 * time.Hour},
		{"1w2d3h", 9*day + 3*time.Hour},
		{"90d", 90 * day},
	} {
		got, err := Parse(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, tt := range []struct {
		in, msg string
	}{
		{"", "empty duration"},
		{"   ", "empty duration"},
		{"-1s", "cannot be negative"},
		{"-3", "cannot be negative"},
		{"-0.5", "cannot be negative"},
		{"1d-2h", "cannot be negative"},
		{"-1d", "not a duration"},
		{"d", "not a duration"},
		{"w", "not a duration"},
		{"5 minutes", "not a duration"},
		{"1x", "not a duration"},
		{"NaN", "not a duration"},
		{"Inf", "not a duration"},
		{"1e300", "not a duration"},
		{"999999999999999w", "not a duration"},
		{"106751d24h", "not a duration"},
	} {
		d, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want an error", tt.in, d)
			continue
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Parse(%q) error %q, want it to say %q", tt.in, err, tt.msg)
		}
	}
	if _, err := Parse(""); !errors.Is(err, ErrEmpty) {
		t.Errorf("Parse(\"\") error %v, want ErrEmpty", err)
	}
}
