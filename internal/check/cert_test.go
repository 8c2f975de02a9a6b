package check

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"testing"
	"time"
)

func TestCertExpiry(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	cert := func(notAfter time.Time) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: "www"}, NotBefore: now.Add(-100 * 24 * time.Hour), NotAfter: notAfter}
	}
	day := 24 * time.Hour
	tests := []struct {
		left   time.Duration
		status Status
		text   string
	}{
		{60 * day, OK, "expires in 60 days"},
		{20 * day, Warning, "expires in 20 days"},
		{3 * day, Critical, "expires in 3 days"},
		{-time.Hour, Critical, "expired less than a day ago"},
		{-25 * time.Hour, Critical, "expired 1 day ago"},
		{-50 * time.Hour, Critical, "expired 2 days ago"},
	}
	for _, tt := range tests {
		st, text, _ := CertExpiry(cert(now.Add(tt.left)), now, 30, 7)
		if st != tt.status || !strings.Contains(text, tt.text) {
			t.Errorf("left %v: %s %q, want %s containing %q", tt.left, st, text, tt.status, tt.text)
		}
	}
	if st, text, _ := CertExpiry(&x509.Certificate{NotBefore: now.Add(day), NotAfter: now.Add(9 * day)}, now, 30, 7); st != Critical || !strings.Contains(text, "not valid before") {
		t.Errorf("not yet valid: %s %q", st, text)
	}
}

func TestPerfRoundTrip(t *testing.T) {
	in := "time=0.004s;6;11;0 'disk /home'=81%;80;90;0;100 size=12B;;;0 bad count=3c"
	perf, bad := ParsePerf(in)
	if len(perf) != 4 || len(bad) != 1 || bad[0] != "bad" {
		t.Fatalf("parsed %+v bad %v", perf, bad)
	}
	if got := PerfString(perf); got != "time=0.004s;6;11;0 'disk /home'=81%;80;90;0;100 size=12B;;;0 count=3c" {
		t.Fatalf("round trip: %s", got)
	}
}

func TestOneLine(t *testing.T) {
	if got := OneLine("  first\tline\nsecond"); got != "first line" {
		t.Fatalf("%q", got)
	}
	long := strings.Repeat("日本", 400)
	if got := OneLine(long); len(got) > 1030 || !strings.HasSuffix(got, "…") {
		t.Fatalf("long output not cut at a rune boundary: %d bytes", len(got))
	}
}

func TestRange(t *testing.T) {
	tests := []struct {
		spec  string
		v     float64
		alert bool
	}{
		{"10", 11, true}, {"10", 5, false}, {"10", -1, true},
		{"10:", 9, true}, {"10:", 11, false},
		{"~:10", -100, false}, {"~:10", 11, true},
		{"10:20", 15, false}, {"10:20", 21, true},
		{"@10:20", 15, true}, {"@10:20", 21, false},
	}
	for _, tt := range tests {
		r, err := ParseRange(tt.spec)
		if err != nil || r.Alert(tt.v) != tt.alert {
			t.Errorf("%s at %v: alert=%v err=%v, want %v", tt.spec, tt.v, r.Alert(tt.v), err, tt.alert)
		}
	}
	for _, bad := range []string{"x", "20:10", "1:x"} {
		if _, err := ParseRange(bad); err == nil {
			t.Errorf("ParseRange(%q) accepted", bad)
		}
	}
}
