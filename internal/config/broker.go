package config

import (
	"net/url"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Broker is the NATS JetStream through which the server hands the checks of
// a zone to that zone's pollers.
type Broker struct {
	URL    string // nats://HOST:PORT (several separated by commas)
	Creds  string // credentials file: a NATS .creds, an nkey seed, or "user:password"
	CAFile string // CAs to trust for tls:// brokers
}

type zoneRef struct {
	file string
	node *yaml.Node
	path string
}

func (l *loader) brokerSetting(file, key string, v *yaml.Node) {
	if v.Kind != yaml.ScalarNode {
		l.errAt(file, v, key, "must be a string")
		return
	}
	switch key {
	case "broker":
		l.cfg.Broker.URL = v.Value
		for _, one := range strings.Split(v.Value, ",") {
			u, err := url.Parse(strings.TrimSpace(one))
			if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
				l.errAt(file, v, key, "must be a nats://HOST:PORT or tls://HOST:PORT URL (several: comma-separated)")
				return
			}
		}
	case "broker_creds":
		l.cfg.Broker.Creds = relTo(file, v.Value)
	case "broker_ca_file":
		l.cfg.Broker.CAFile = relTo(file, v.Value)
	}
}

func relTo(file, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(file), p)
}

// ValidZone reports whether name can name a zone: it becomes a NATS
// subject token and part of a stream name.
func ValidZone(name string) bool {
	return name != "" && len(name) <= 32 && strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == ""
}

// zone checks a zone: key where it is written; finish checks that a broker
// is configured for it.
func (l *loader) zone(file string, n *yaml.Node, path, zone string) {
	if zone == "" {
		return
	}
	at := valueNode(n, "zone")
	if !ValidZone(zone) {
		l.errAt(file, at, join(path, "zone"), "zone %q: use letters, digits, '-' and '_' only (at most 32)", zone)
	}
	l.zoneNodes = append(l.zoneNodes, zoneRef{file: file, node: at, path: join(path, "zone")})
}

// checkZones reports every zone written without a broker to send it to.
func (l *loader) checkZones() {
	if l.cfg.Broker.URL != "" {
		return
	}
	for _, z := range l.zoneNodes {
		l.errAt(z.file, z.node, z.path, "zone %q needs broker: (the NATS the zone's pollers connect to)", z.node.Value)
	}
}
