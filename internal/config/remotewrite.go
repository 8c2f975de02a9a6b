package config

import (
	"net/url"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/fieldset"
)

// RemoteWrite is a receiver of Prometheus remote write (remote_write:).
type RemoteWrite struct {
	Name          string       `yaml:"name" required:"true" help:"unique name (its queue is DATA_DIR/remote_write/NAME)"`
	URL           string       `yaml:"url" required:"true" help:"the receiver's endpoint, e.g. http://prometheus:9090/api/v1/write"`
	BearerToken   check.Secret `yaml:"bearer_token" help:"sent as Authorization: Bearer (${ENV} or file:)"`
	Username      string       `yaml:"username" help:"basic authentication user (with password)"`
	Password      check.Secret `yaml:"password" help:"basic authentication password (${ENV} or file:)"`
	Tenants       []string     `yaml:"tenants" help:"send only the series of these tenants (default: all)"`
	Metrics       string       `yaml:"metrics" help:"send only metric names matching this regular expression (anchored; default: all)"`
	MaxQueueBytes int64        `yaml:"max_queue_bytes" help:"bytes kept on disk while the receiver is down (default 536870912); beyond, the oldest are dropped and counted"`
}

// MetricsRegexp is the compiled metrics filter (nil: all).
func (r *RemoteWrite) MetricsRegexp() *regexp.Regexp {
	if r.Metrics == "" {
		return nil
	}
	re, err := regexp.Compile("^(?:" + r.Metrics + ")$")
	if err != nil {
		return nil
	}
	return re
}

func (l *loader) remoteWrite(file string, n *yaml.Node, path string) {
	var r RemoteWrite
	l.issues(file, path, fieldset.DecodeMapping(n, &r, nil))
	for _, fe := range fieldset.MissingRequired(&r) {
		l.errAt(file, n, join(path, fe.Field), "%s", fe.Msg)
	}
	if r.Name != "" && !validRemoteName(r.Name) {
		l.errAt(file, keyNode(n, "name"), join(path, "name"), "use letters, digits, '-' and '_' only")
	}
	for _, o := range l.cfg.RemoteWrite {
		if r.Name != "" && o.Name == r.Name {
			l.errAt(file, keyNode(n, "name"), join(path, "name"), "%q is used twice", r.Name)
		}
	}
	if r.URL != "" {
		if u, err := url.Parse(r.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			l.errAt(file, keyNode(n, "url"), join(path, "url"), "must be an http:// or https:// URL")
		}
	}
	if r.Metrics != "" {
		if _, err := regexp.Compile("^(?:" + r.Metrics + ")$"); err != nil {
			l.errAt(file, keyNode(n, "metrics"), join(path, "metrics"), "not a regular expression: %v", err)
		}
	}
	if (r.Username == "") != (r.Password.Reveal() == "") {
		l.errAt(file, n, path, "username and password go together")
	}
	if r.BearerToken.Reveal() != "" && r.Username != "" {
		l.errAt(file, n, path, "either bearer_token or username and password, not both")
	}
	if r.MaxQueueBytes < 0 {
		l.errAt(file, keyNode(n, "max_queue_bytes"), join(path, "max_queue_bytes"), "must not be negative")
	}
	l.cfg.RemoteWrite = append(l.cfg.RemoteWrite, r)
}

func validRemoteName(s string) bool {
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == "" && len(s) <= 64
}
