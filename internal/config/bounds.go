package config

import (
	"net"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Bounds on values that are valid in form but absurd in size.
const (
	MaxAttempts      = 1000
	MaxMaxConcurrent = 1_000_000
	// MinTokenLen is the shortest API or agent token accepted from the
	// config (`mamori token create` and `mamori host add` make 32+).
	MinTokenLen = 16
)

// tokenStrength refuses a token too short to stand for a secret.
func (l *loader) tokenStrength(file string, n *yaml.Node, path, v string) {
	if len(v) < MinTokenLen {
		l.errAt(file, n, path, "must be at least %d characters (use a random token: openssl rand -hex 24)", MinTokenLen)
	}
}

// attemptsBound refuses attempts outside 1..MaxAttempts.
func (l *loader) attemptsBound(file string, n *yaml.Node, path string, v int) {
	if v < 1 || v > MaxAttempts {
		l.errAt(file, n, path, "must be from 1 to %d", MaxAttempts)
	}
}

// checkListen says what is wrong with a listen address ("" if nothing):
// an IP address (or localhost, or nothing for every interface) and a port.
func checkListen(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "must be HOST:PORT with an IP address (127.0.0.1:8484, [::1]:8484, :8484): " + strings.TrimPrefix(err.Error(), "address "+addr+": ")
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "port " + strconv.Quote(port) + " is not a number from 0 to 65535"
	}
	if host != "" && host != "localhost" && net.ParseIP(host) == nil {
		return "host " + strconv.Quote(host) + " is not an IP address (or localhost): the server binds an address, not a name"
	}
	return ""
}

// boundTop checks the top-level settings' ranges (after defaults are filled).
func (l *loader) boundTop() {
	c := l.cfg
	if msg := checkListen(c.Listen); msg != "" {
		l.errAt(c.File, l.top["listen"], "listen", "%s", msg)
	}
	if n := c.Scheduler.MaxConcurrent; n < 0 || n > MaxMaxConcurrent {
		l.errAt(c.File, l.top["scheduler"], "scheduler.max_concurrent", "must be from 1 to %d (0 or unset: %d)", MaxMaxConcurrent, DefaultMaxConcurrent)
	}
	if c.Defaults.Attempts != 0 {
		l.attemptsBound(c.File, l.top["defaults"], "defaults.attempts", c.Defaults.Attempts)
	}
}

// secondDocument reports a YAML document after the first one in data
// (yaml.Unmarshal reads only the first: the rest would be ignored
// silently). The error is "" if there is none.
func secondDocument(data []byte) (line int, found bool) {
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var first, second yaml.Node
	if dec.Decode(&first) != nil {
		return 0, false
	}
	if err := dec.Decode(&second); err != nil {
		return 0, false
	}
	if len(second.Content) == 0 {
		return second.Line, true
	}
	return second.Content[0].Line, true
}
