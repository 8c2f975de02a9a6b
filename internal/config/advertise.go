package config

import (
	"crypto/x509"
	"fmt"
	"net/url"
	"os"

	"go.yaml.in/yaml/v3"
)

// advertiseSetting reads advertise_url (the URL the other servers of the
// database reach this one at) and advertise_ca_file.
func (l *loader) advertiseSetting(file, key string, v *yaml.Node) {
	if v.Kind != yaml.ScalarNode {
		l.errAt(file, v, key, "must be a string")
		return
	}
	switch key {
	case "advertise_url":
		l.cfg.AdvertiseURL = v.Value
		if err := checkAdvertiseURL(v.Value); err != nil {
			l.errAt(file, v, key, "%v", err)
		}
	case "advertise_ca_file":
		l.cfg.AdvertiseCAFile = relTo(file, v.Value)
		b, err := os.ReadFile(l.cfg.AdvertiseCAFile)
		if err != nil {
			l.errAt(file, v, key, "%v", err)
		} else if !x509.NewCertPool().AppendCertsFromPEM(b) {
			l.errAt(file, v, key, "no PEM certificate in %s", l.cfg.AdvertiseCAFile)
		}
	}
}

// checkAdvertiseURL accepts http:// or https://HOST[:PORT] with no path
// beyond "/", no query and no user.
func checkAdvertiseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("must be an http:// or https:// URL (https://10.0.0.11:8080), not %q", s)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("names no host (https://HOST:PORT)")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("must be the server's root (https://HOST:PORT/): no path, query, fragment or user")
	}
	return nil
}
