package check

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// ByDuration grades a measured duration against warning and critical limits
// (zero disables a limit): d >= crit is CRITICAL, d >= warn is WARNING.
func ByDuration(d, warn, crit time.Duration) Status {
	switch {
	case crit > 0 && d >= crit:
		return Critical
	case warn > 0 && d >= warn:
		return Warning
	}
	return OK
}

// Range is a Nagios threshold range (https://nagios-plugins.org/doc/guidelines.html#THRESHOLDFORMAT):
// "10" means alert outside 0..10, "10:" outside 10..inf, "~:10" outside -inf..10,
// "10:20" outside 10..20, "@10:20" inside 10..20. The zero Range is unset.
type Range struct {
	Start, End float64
	Inside     bool // '@': alert when inside
	Set        bool
	Text       string
}

// ParseRange parses Nagios range syntax.
func ParseRange(s string) (Range, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Range{}, nil
	}
	r := Range{Set: true, Text: s, Start: 0, End: math.Inf(1)}
	body := s
	if strings.HasPrefix(body, "@") {
		r.Inside = true
		body = body[1:]
	}
	lo, hi, hasColon := strings.Cut(body, ":")
	if !hasColon {
		hi, lo = lo, ""
	}
	switch lo {
	case "":
	case "~":
		r.Start = math.Inf(-1)
	default:
		v, err := strconv.ParseFloat(lo, 64)
		if err != nil {
			return Range{}, fmt.Errorf("bad range %q: start %q is not a number", s, lo)
		}
		r.Start = v
	}
	if hi != "" {
		v, err := strconv.ParseFloat(hi, 64)
		if err != nil {
			return Range{}, fmt.Errorf("bad range %q: end %q is not a number", s, hi)
		}
		r.End = v
	} else if !hasColon {
		return Range{}, fmt.Errorf("bad range %q", s)
	}
	if r.Start > r.End {
		return Range{}, fmt.Errorf("bad range %q: start is greater than end", s)
	}
	return r, nil
}

// Alert reports whether v falls where this range raises an alert.
func (r Range) Alert(v float64) bool {
	if !r.Set {
		return false
	}
	in := v >= r.Start && v <= r.End
	if r.Inside {
		return in
	}
	return !in
}

func (r Range) String() string { return r.Text }

// UnmarshalText parses range syntax (also used for YAML scalars).
func (r *Range) UnmarshalText(b []byte) error {
	v, err := ParseRange(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Grade returns CRITICAL if crit alerts on v, WARNING if warn does, else OK.
func Grade(v float64, warn, crit Range) Status {
	switch {
	case crit.Alert(v):
		return Critical
	case warn.Alert(v):
		return Warning
	}
	return OK
}

// Secret is a string that may be a reference: "${NAME}" takes the
// environment variable NAME, "file:/path" the file's content with trailing
// newlines trimmed. Anything else is the literal value. Its String method
// never reveals the value, so a Secret can be logged safely.
type Secret struct {
	ref   string
	value string
}

// ResolveSecret resolves a reference; a missing variable or unreadable file is an error.
func ResolveSecret(s string) (Secret, error) {
	switch {
	case strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}"):
		name := s[2 : len(s)-1]
		v, ok := os.LookupEnv(name)
		if !ok {
			return Secret{}, fmt.Errorf("environment variable %s is not set", name)
		}
		return Secret{ref: s, value: v}, nil
	case strings.HasPrefix(s, "file:"):
		b, err := os.ReadFile(strings.TrimPrefix(s, "file:"))
		if err != nil {
			return Secret{}, fmt.Errorf("secret file: %w", err)
		}
		return Secret{ref: s, value: strings.TrimRight(string(b), "\r\n")}, nil
	}
	return Secret{ref: "", value: s}, nil
}

// NewSecret wraps a literal value.
func NewSecret(v string) Secret { return Secret{value: v} }

// Reveal returns the secret value.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.value == "" && s.ref == "" }

// String never shows the value: the reference if there is one, else "******".
func (s Secret) String() string {
	if s.ref != "" {
		return s.ref
	}
	if s.value == "" {
		return ""
	}
	return "******"
}

// MarshalText keeps secrets out of any JSON/YAML dump.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
