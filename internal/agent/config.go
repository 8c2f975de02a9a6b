// Package agent is the runtime of `mamori agent`: it says hello to the
// server, runs the host's agent-side checks on their schedule, collects host
// metrics, spools every result and sample batch to disk before sending it
// (in order, surviving restarts and outages, bounded, with drops counted),
// long-polls for server requests and runs only the recovery actions of its
// local allowlist.
package agent

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/fieldset"
	"github.com/mamori/mamori/internal/duration"
	"github.com/mamori/mamori/internal/yamlx"
)

// Defaults of the local configuration.
const (
	DefaultSpoolMaxBytes = 64 << 20
	DefaultActionTimeout = 5 * time.Minute
	systemStateDir       = "/var/lib/mamori-agent"
	localStateDir        = "mamori-agent-state"
)

// Config is the agent's local configuration (file and flags).
type Config struct {
	Server             string              // base URL of the mamori server
	Token              check.Secret        // the host's agent token
	CAFile             string              // PEM CAs to trust for the server
	ClientCert         string              // optional client certificate (mTLS)
	ClientKey          string              // and its key
	InsecureSkipVerify bool                // do not verify the server certificate
	StateDir           string              // spool, offsets, cached config
	SpoolMaxBytes      int64               // bound of the spool on disk
	Actions            map[string][]string // the allowlist: NAME → argv
	ActionTimeout      time.Duration       // limit of one action run
	Hostname           string              // reported in Hello (default: os.Hostname)
}

// ConfigKeys are the keys of the local config file, for help and errors.
var ConfigKeys = []string{"server", "token", "ca_file", "client_cert", "client_key", "insecure_skip_verify", "state_dir", "spool_max_bytes", "actions", "action_timeout", "hostname"}

// ConfigError lists every problem of a config file, each a yamlx.Error
// (mamori's one YAML error type) with its line and key.
type ConfigError struct {
	File     string
	Problems yamlx.Errors
}

func (e *ConfigError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problems:", e.name(), len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.Error())
	}
	return b.String()
}

func (e *ConfigError) name() string {
	if e.File == "" {
		return "agent config"
	}
	return e.File
}

// LoadConfigFile reads and parses a local config file.
func LoadConfigFile(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return ParseConfig(path, b)
}

var actionName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$`)

// ParseConfig parses the YAML of a local config file strictly: unknown
// keys, wrong types and bad values are all reported with their line.
func ParseConfig(file string, data []byte) (Config, error) {
	var c Config
	ce := &ConfigError{File: file}
	bad := func(n *yaml.Node, key, format string, args ...any) {
		e := yamlx.Error{File: ce.name(), Path: key, Msg: fmt.Sprintf(format, args...)}
		if n != nil {
			e.Line = n.Line // lines only: the file is short
		}
		ce.Problems = append(ce.Problems, e)
	}
	root, serr := yamlx.Parse(ce.name(), data, 0)
	if serr != nil {
		ce.Problems = append(ce.Problems, *serr)
		return c, ce
	}
	if root == nil {
		return c, nil // empty file: flags only
	}
	if root.Kind != yaml.MappingNode {
		bad(root, "(top)", "must be a mapping of keys (server, token, ...)")
		return c, ce
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if seen[k.Value] {
			bad(k, k.Value, "given twice")
			continue
		}
		seen[k.Value] = true
		c.setKey(k, v, bad)
	}
	if len(ce.Problems) > 0 {
		return c, ce
	}
	return c, nil
}

// problemFunc reports one problem at a node.
type problemFunc func(n *yaml.Node, key, format string, args ...any)

// setKey decodes one top-level key of the config file into c.
func (c *Config) setKey(k, v *yaml.Node, bad problemFunc) {
	if k.Value == "actions" {
		c.setActions(v, bad)
		return
	}
	if !slices.Contains(ConfigKeys, k.Value) {
		bad(k, k.Value, "unknown key%s (known: %s)", fieldset.SuggestKey(k.Value, append([]string(nil), ConfigKeys...)), strings.Join(ConfigKeys, ", "))
		return
	}
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		bad(v, k.Value, "must be a single value, not a %s", kindName(v))
		return
	}
	if err := c.setScalar(k.Value, v.Value); err != nil {
		bad(v, k.Value, "%v", err)
	}
}

// setScalar sets a single-valued key.
func (c *Config) setScalar(key, s string) error {
	switch key {
	case "server":
		c.Server = s
		return checkServerURL(s)
	case "ca_file":
		c.CAFile = s
	case "client_cert":
		c.ClientCert = s
	case "client_key":
		c.ClientKey = s
	case "state_dir":
		c.StateDir = s
	case "hostname":
		c.Hostname = s
	case "token":
		sec, err := check.ResolveSecret(s)
		if err != nil {
			return err
		}
		c.Token = sec
	case "insecure_skip_verify":
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		c.InsecureSkipVerify = b
	case "spool_max_bytes":
		n, err := ParseSize(s)
		if err != nil {
			return err
		}
		if n < 64<<10 {
			return fmt.Errorf("%d bytes is too small (at least 64KiB)", n)
		}
		c.SpoolMaxBytes = n
	case "action_timeout":
		d, err := duration.Parse(s)
		if err != nil {
			return err
		}
		if d < time.Second {
			return errors.New("must be at least 1s")
		}
		c.ActionTimeout = d
	}
	return nil
}

// setActions decodes the allowlist: NAME: [program, args...].
func (c *Config) setActions(v *yaml.Node, bad problemFunc) {
	if v.Kind != yaml.MappingNode {
		bad(v, "actions", "must be a mapping NAME: [argv...], not a %s", kindName(v))
		return
	}
	c.Actions = map[string][]string{}
	for j := 0; j+1 < len(v.Content); j += 2 {
		an, av := v.Content[j], v.Content[j+1]
		key := "actions." + an.Value
		if !actionName.MatchString(an.Value) {
			bad(an, key, "%q is not an action name (letters, digits, _ . -; at most 64)", an.Value)
			continue
		}
		if _, dup := c.Actions[an.Value]; dup {
			bad(an, key, "given twice")
			continue
		}
		if argv, ok := actionArgv(key, av, bad); ok {
			c.Actions[an.Value] = argv
		}
	}
}

// actionArgv reads one action's program and arguments.
func actionArgv(key string, av *yaml.Node, bad problemFunc) ([]string, bool) {
	if av.Kind != yaml.SequenceNode {
		bad(av, key, "must be a list: the program and its arguments (no shell), e.g. [systemctl, restart, nginx]")
		return nil, false
	}
	var argv []string
	ok := true
	for x, item := range av.Content {
		if item.Kind != yaml.ScalarNode {
			bad(item, fmt.Sprintf("%s[%d]", key, x), "must be a string, not a %s", kindName(item))
			ok = false
			continue
		}
		argv = append(argv, item.Value)
	}
	if !ok {
		return nil, false
	}
	if len(argv) == 0 || strings.TrimSpace(argv[0]) == "" {
		bad(av, key, "needs at least the program to run")
		return nil, false
	}
	return argv, true
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "scalar"
	}
	return "node"
}

func checkServerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %v", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: the scheme must be https (or http on loopback)", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	return nil
}

// ParseSize reads a byte count: 1048576, 64MiB, 512KiB, 1GiB, 10MB.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suf  string
		mult int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suf) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suf)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<50)/mult {
		return 0, fmt.Errorf("%q is not a size (e.g. 67108864, 64MiB, 512KiB)", s)
	}
	return n * mult, nil
}

// Merge returns c with the non-zero fields of o (the command-line flags) on top.
func (c Config) Merge(o Config) Config {
	if o.Server != "" {
		c.Server = o.Server
	}
	if !o.Token.IsZero() {
		c.Token = o.Token
	}
	if o.CAFile != "" {
		c.CAFile = o.CAFile
	}
	if o.ClientCert != "" {
		c.ClientCert = o.ClientCert
	}
	if o.ClientKey != "" {
		c.ClientKey = o.ClientKey
	}
	if o.InsecureSkipVerify {
		c.InsecureSkipVerify = true
	}
	if o.StateDir != "" {
		c.StateDir = o.StateDir
	}
	if o.SpoolMaxBytes > 0 {
		c.SpoolMaxBytes = o.SpoolMaxBytes
	}
	if o.ActionTimeout > 0 {
		c.ActionTimeout = o.ActionTimeout
	}
	if o.Hostname != "" {
		c.Hostname = o.Hostname
	}
	if o.Actions != nil {
		c.Actions = o.Actions
	}
	return c
}

// Finish fills defaults and checks what a running agent needs.
func (c *Config) Finish() error {
	var errs []string
	if c.Server == "" {
		errs = append(errs, "no server: give --server URL or server: in the config file")
	} else if err := checkServerURL(c.Server); err != nil {
		errs = append(errs, "server: "+err.Error())
	}
	if c.Token.Reveal() == "" {
		errs = append(errs, "no token: give --token TOKEN (or token: ${ENV} / file:PATH in the config file); `mamori host add NAME` prints it")
	}
	if (c.ClientCert == "") != (c.ClientKey == "") {
		errs = append(errs, "client_cert and client_key go together")
	}
	if c.SpoolMaxBytes <= 0 {
		c.SpoolMaxBytes = DefaultSpoolMaxBytes
	}
	if c.ActionTimeout <= 0 {
		c.ActionTimeout = DefaultActionTimeout
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir()
	}
	if c.Hostname == "" {
		c.Hostname, _ = os.Hostname()
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// DefaultStateDir is /var/lib/mamori-agent when it can be used (root, or
// it already exists and is writable), else ./mamori-agent-state.
func DefaultStateDir() string {
	sys := systemStateDir
	if runtime.GOOS == "windows" {
		if pd := os.Getenv("ProgramData"); pd != "" {
			sys = filepath.Join(pd, "mamori-agent")
		}
	}
	if err := os.MkdirAll(sys, 0o700); err == nil {
		if f, err := os.CreateTemp(sys, ".probe"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return sys
		}
	}
	return localStateDir
}

// ActionNames lists the allowlist's names, sorted (what Hello reports).
func (c *Config) ActionNames() []string {
	names := make([]string, 0, len(c.Actions))
	for n := range c.Actions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
