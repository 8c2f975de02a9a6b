package config

import (
	"strings"
	"testing"
)

func TestAdvertiseURL(t *testing.T) {
	cfg, err := Parse("/etc/mamori/a.yaml", []byte("advertise_url: https://10.0.0.11:8080/\nchecks:\n  - {name: a, type: ping, host: 127.0.0.1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AdvertiseURL != "https://10.0.0.11:8080/" {
		t.Fatalf("advertise_url %q", cfg.AdvertiseURL)
	}
	for _, bad := range []string{"10.0.0.11:8080", "ftp://x/", "https://x/mamori", "http://u:p@x/", "https://x/?a=1", "http://:80", "[1]"} {
		_, err := Parse("/etc/mamori/a.yaml", []byte("checks:\n  - {name: a, type: ping, host: 127.0.0.1}\nadvertise_url: \""+bad+"\"\n"))
		if err == nil || !strings.Contains(err.Error(), "a.yaml:3:16: advertise_url: ") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	_, err = Parse("/etc/mamori/a.yaml", []byte("advertise_ca_file: nope.pem\n"))
	if err == nil || !strings.Contains(err.Error(), "a.yaml:1:20: advertise_ca_file: ") || !strings.Contains(err.Error(), "/etc/mamori/nope.pem") {
		t.Errorf("missing CA file: %v", err)
	}
}
