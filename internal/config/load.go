package config

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/fieldset"
	"github.com/mamori/mamori/internal/recovery/policy"
	"github.com/mamori/mamori/internal/yamlx"
)

// Load reads and validates the configuration at path (and the files it
// includes). The error, if any, is an Errors listing every problem.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: err.Error()}}
	}
	return Parse(path, data)
}

// Parse validates configuration text; file names it in errors and anchors
// relative includes.
func Parse(file string, data []byte) (*Config, error) {
	l := &loader{cfg: &Config{File: file, Incidents: Incidents{AutoResolve: true}, Recovery: policy.DefaultGlobal()}, seen: map[string]bool{}}
	l.file(file, data, true)
	l.finish()
	if len(l.errs) > 0 {
		return nil, l.errs.Sorted()
	}
	return l.cfg, nil
}

type loader struct {
	cfg  *Config
	errs Errors
	seen map[string]bool       // files read, against include loops
	top  map[string]*yaml.Node // the main file's top-level values, for positions
	// raw per check, kept for the cross-reference pass
	refs           map[*Check]*checkRefs
	escRefs        map[*Escalation]*escalationRefs
	hostNotify     map[string][]*yaml.Node
	hosts          map[string]*Host
	hostCheckNodes []hostCheckRef
	tenantNodes    []tenantRef
	zoneNodes      []zoneRef // every zone: written, checked against broker: at the end
}

type checkRefs struct {
	file      string
	path      string
	node      *yaml.Node
	notify    []*yaml.Node
	dependsOn []*yaml.Node
	written   map[string]bool // common keys that were written
}

func (l *loader) errAt(file string, n *yaml.Node, path, format string, args ...any) {
	l.errs = append(l.errs, yamlx.At(file, n, path, format, args...))
}

func (l *loader) file(file string, data []byte, top bool) {
	abs, _ := filepath.Abs(file)
	if l.seen[abs] {
		l.errAt(file, nil, "", "included more than once (include loop?)")
		return
	}
	l.seen[abs] = true
	root, serr := yamlx.Parse(file, data, 0)
	if serr != nil {
		e := *serr
		e.Msg = "YAML syntax: " + e.Msg
		if !top {
			e = redactYAMLError(e)
		}
		l.errs = append(l.errs, e)
		return
	}
	if root == nil {
		if top {
			l.errAt(file, nil, "", "the file is empty")
		}
		return
	}
	if line, found := secondDocument(data); found {
		l.errs = append(l.errs, Error{File: file, Line: line, Msg: "a second YAML document (after ---): one file holds one configuration; use include: for more files"})
	}
	l.errs = append(l.errs, yamlx.Duplicates(file, root)...)
	if root.Kind != yaml.MappingNode {
		l.errAt(file, root, "", "the top level must be a mapping of settings")
		return
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "listen", "data_dir", "database", "log_level", "public_url", "retention", "scheduler", "defaults", "incidents", "runbooks_dir", "recovery", "report", "tickets", "tls", "http", "broker", "broker_creds", "broker_ca_file", "advertise_url", "advertise_ca_file":
			if !top {
				l.errAt(file, k, k.Value, "only the main config file may set %s", k.Value)
				continue
			}
			if l.top == nil {
				l.top = map[string]*yaml.Node{}
			}
			l.top[k.Value] = v
			l.topSetting(file, k.Value, v)
		case "api_tokens":
			l.list(file, v, "api_tokens", func(n *yaml.Node, p string) { l.apiToken(file, n, p) })
		case "channels":
			l.list(file, v, "channels", func(n *yaml.Node, p string) { l.channel(file, n, p) })
		case "contacts":
			l.list(file, v, "contacts", func(n *yaml.Node, p string) { l.contact(file, n, p) })
		case "maintenance":
			l.list(file, v, "maintenance", func(n *yaml.Node, p string) { l.maintenance(file, n, p) })
		case "escalations":
			l.list(file, v, "escalations", func(n *yaml.Node, p string) { l.escalation(file, n, p) })
		case "checks":
			l.list(file, v, "checks", func(n *yaml.Node, p string) { l.check(file, n, p, nil) })
		case "hosts":
			l.list(file, v, "hosts", func(n *yaml.Node, p string) { l.host(file, n, p) })
		case "tenants":
			l.list(file, v, "tenants", func(n *yaml.Node, p string) { l.tenant(file, n, p) })
		case "aws_accounts":
			l.list(file, v, "aws_accounts", func(n *yaml.Node, p string) { l.awsAccount(file, n, p) })
		case "remote_write":
			l.list(file, v, "remote_write", func(n *yaml.Node, p string) { l.remoteWrite(file, n, p) })
		case "include":
			l.include(file, v)
		default:
			l.errAt(file, k, k.Value, "unknown setting%s", fieldset.SuggestKey(k.Value, topKeys()))
		}
	}
}

func topKeys() []string {
	return []string{"listen", "data_dir", "database", "log_level", "public_url", "retention", "scheduler", "defaults", "incidents", "runbooks_dir", "recovery", "report", "tickets", "tls", "http", "broker", "broker_creds", "broker_ca_file", "advertise_url", "advertise_ca_file",
		"api_tokens", "tenants", "channels", "contacts", "escalations", "maintenance", "checks", "hosts", "include", "aws_accounts", "remote_write"}
}

func (l *loader) topSetting(file, key string, v *yaml.Node) {
	scalar := func(dst *string) {
		if v.Kind != yaml.ScalarNode {
			l.errAt(file, v, key, "must be a string")
			return
		}
		*dst = v.Value
	}
	switch key {
	case "listen":
		scalar(&l.cfg.Listen)
	case "data_dir":
		scalar(&l.cfg.DataDir)
	case "database":
		scalar(&l.cfg.Database)
		if err := checkDatabaseURL(l.cfg.Database); err != nil {
			l.errAt(file, v, key, "%v", err)
		}
	case "public_url":
		scalar(&l.cfg.PublicURL)
	case "log_level":
		scalar(&l.cfg.LogLevel)
		if !slices.Contains([]string{"debug", "info", "warn", "error"}, l.cfg.LogLevel) {
			l.errAt(file, v, key, "must be debug, info, warn or error")
		}
	case "broker", "broker_creds", "broker_ca_file":
		l.brokerSetting(file, key, v)
	case "advertise_url", "advertise_ca_file":
		l.advertiseSetting(file, key, v)
	case "retention":
		l.mapping(file, v, key, &l.cfg.Retention)
	case "scheduler":
		l.mapping(file, v, key, &l.cfg.Scheduler)
	case "defaults":
		l.mapping(file, v, key, &l.cfg.Defaults)
	case "incidents":
		l.mapping(file, v, key, &l.cfg.Incidents)
	case "report":
		l.mapping(file, v, key, &l.cfg.Report)
	case "tickets":
		l.mapping(file, v, key, &l.cfg.Tickets)
	case "tls":
		l.mapping(file, v, key, &l.cfg.TLS)
	case "http":
		l.mapping(file, v, key, &l.cfg.HTTP)
	case "recovery":
		g, es := policy.DecodeGlobal(v)
		l.place(file, "", es)
		l.cfg.Recovery = g
	case "runbooks_dir":
		scalar(&l.cfg.RunbooksDir)
		if l.cfg.RunbooksDir != "" && !filepath.IsAbs(l.cfg.RunbooksDir) {
			l.cfg.RunbooksDir = filepath.Join(filepath.Dir(file), l.cfg.RunbooksDir)
		}
	}
}

// mapping decodes a fixed mapping into a tagged struct, reporting issues.
func (l *loader) mapping(file string, v *yaml.Node, path string, dst any) {
	if v.Kind != yaml.MappingNode {
		l.errAt(file, v, path, "must be a mapping")
		return
	}
	l.issues(file, path, fieldset.DecodeMapping(v, dst, nil))
}

// place adds problems found relative to path (a decoder's, without file).
func (l *loader) place(file, path string, es yamlx.Errors) {
	for _, e := range es {
		e.File, e.Path = file, join(path, e.Path)
		l.errs = append(l.errs, e)
	}
}

func (l *loader) issues(file, path string, is []fieldset.Issue) {
	l.errs = append(l.errs, yamlx.Issues(file, path, is)...)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	if strings.HasPrefix(key, "[") {
		return path + key
	}
	return path + "." + key
}

func (l *loader) list(file string, v *yaml.Node, path string, each func(*yaml.Node, string)) {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return
	}
	if v.Kind != yaml.SequenceNode {
		l.errAt(file, v, path, "must be a list")
		return
	}
	for i, item := range v.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		if item.Kind != yaml.MappingNode {
			l.errAt(file, item, p, "must be a mapping")
			continue
		}
		each(item, p)
	}
}

func (l *loader) include(file string, v *yaml.Node) {
	var pats []*yaml.Node
	switch v.Kind {
	case yaml.ScalarNode:
		pats = []*yaml.Node{v}
	case yaml.SequenceNode:
		pats = v.Content
	default:
		l.errAt(file, v, "include", "must be a file pattern or a list of them")
		return
	}
	for i, p := range pats {
		pat := p.Value
		if !filepath.IsAbs(pat) {
			pat = filepath.Join(filepath.Dir(file), pat)
		}
		if msg := includePattern(pat); msg != "" {
			l.errAt(file, p, fmt.Sprintf("include[%d]", i), "%s", msg)
			continue
		}
		matches, err := filepath.Glob(pat)
		if err != nil {
			l.errAt(file, p, fmt.Sprintf("include[%d]", i), "bad pattern: %v", err)
			continue
		}
		if len(matches) == 0 && !strings.ContainsAny(p.Value, "*?[") {
			l.errAt(file, p, fmt.Sprintf("include[%d]", i), "no such file %s", pat)
		}
		if len(matches) > MaxIncludeFiles {
			l.errAt(file, p, fmt.Sprintf("include[%d]", i), "matches %d files (at most %d)", len(matches), MaxIncludeFiles)
			continue
		}
		for _, m := range matches {
			data, err := readInclude(m)
			if err != nil {
				l.errAt(file, p, fmt.Sprintf("include[%d]", i), "%v", err)
				continue
			}
			l.file(m, data, false)
		}
	}
}

func (l *loader) apiToken(file string, n *yaml.Node, path string) {
	var t APIToken
	l.issues(file, path, fieldset.DecodeMapping(n, &t, nil))
	for _, fe := range fieldset.MissingRequired(&t) {
		l.errAt(file, n, join(path, fe.Field), "%s", fe.Msg)
	}
	if t.Role == "" {
		t.Role = auth.RoleViewer
	}
	// The same rules as `mamori token create` (a user's role and tenant).
	switch {
	case !auth.ValidRole(t.Role):
		l.errAt(file, keyNode(n, "role"), join(path, "role"), "must be admin, operator, customer or viewer")
	case auth.ValidateRole(t.Role, t.Tenant) != nil:
		l.errAt(file, keyNode(n, "tenant"), join(path, "tenant"), "%v", auth.ValidateRole(t.Role, t.Tenant))
	}
	if v := t.Token.Reveal(); v != "" {
		l.tokenStrength(file, keyNode(n, "token"), join(path, "token"), v)
	}
	l.cfg.APITokens = append(l.cfg.APITokens, t)
}

// hostFields are a host's own keys (its checks are handled separately).
type hostFields struct {
	Name            string        `yaml:"name" required:"true" help:"unique host name"`
	Address         string        `yaml:"address" help:"DNS name or IP; the default target of its checks"`
	Tenant          string        `yaml:"tenant" help:"the customer that owns it"`
	Groups          []string      `yaml:"groups" help:"host groups"`
	Tags            []string      `yaml:"tags" help:"free tags"`
	HostCheck       string        `yaml:"host_check" help:"name of its check that tells whether the host is up (default: its only ping check, else its agent heartbeat)"`
	Agent           bool          `yaml:"agent" help:"the host runs mamori agent: adds the heartbeat check HOST/agent (added anyway when it has agent-side checks)"`
	Notify          []string      `yaml:"notify" help:"channels or escalation policies for its checks that name none (and its heartbeat)"`
	AgentToken      check.Secret  `yaml:"agent_token" help:"the agent's token (${ENV} or file:); or enrol with mamori host add"`
	MetricsInterval time.Duration `yaml:"metrics_interval" help:"how often its agent sends host metrics (default 60s)"`
	Zone            string        `yaml:"zone" help:"run its checks on the pollers of this zone (needs broker:); its checks inherit it"`
	Level           int           `yaml:"level" help:"incident level 1..3 (障害対応レベル) of its checks that set none (default 2)"`
}

// HostFields documents a host's keys (for the config reference).
func HostFields() []fieldset.Field { return fieldset.Of(&hostFields{}) }

// SectionFields documents the fixed sections (for the config reference).
func SectionFields() map[string][]fieldset.Field {
	return map[string][]fieldset.Field{
		"retention":    fieldset.Of(&Retention{}),
		"incidents":    fieldset.Of(&Incidents{AutoResolve: true}),
		"tickets":      fieldset.Of(&Tickets{}),
		"tls":          fieldset.Of(&TLS{}),
		"http":         fieldset.Of(&HTTP{}),
		"contacts":     fieldset.Of(&Contact{}),
		"scheduler":    fieldset.Of(&Scheduler{}),
		"defaults":     fieldset.Of(&Defaults{}),
		"api_tokens":   fieldset.Of(&APIToken{}),
		"remote_write": fieldset.Of(&RemoteWrite{}),
	}
}

func (l *loader) host(file string, n *yaml.Node, path string) {
	var hf hostFields
	l.issues(file, path, fieldset.DecodeMapping(n, &hf, map[string]bool{"checks": true}))
	if hf.Name == "" {
		l.errAt(file, n, join(path, "name"), "is required")
		return
	}
	if msg := badName(hf.Name); msg != "" {
		l.errAt(file, keyNode(n, "name"), join(path, "name"), "%s", msg)
	}
	if l.hosts == nil {
		l.hosts = map[string]*Host{}
	}
	if prev, dup := l.hosts[hf.Name]; dup {
		l.errAt(file, keyNode(n, "name"), join(path, "name"), "duplicate host %q (first at %s:%d)", hf.Name, prev.Pos.File, prev.Pos.Line)
		return
	}
	h := &Host{Name: hf.Name, Address: hf.Address, Tenant: hf.Tenant, Groups: hf.Groups, Tags: hf.Tags, Agent: hf.Agent || !hf.AgentToken.IsZero(), AgentToken: hf.AgentToken, MetricsInterval: hf.MetricsInterval, Notify: hf.Notify, Zone: hf.Zone, Pos: Pos{file, n.Line}}
	l.zone(file, n, path, hf.Zone)
	if valueNode(n, "level") != nil {
		h.Level = l.incidentLevel(file, n, path, hf.Level, true, nil)
	}
	if v := hf.AgentToken.Reveal(); v != "" {
		l.tokenStrength(file, keyNode(n, "agent_token"), join(path, "agent_token"), v)
	}
	l.hosts[h.Name] = h
	l.cfg.Hosts = append(l.cfg.Hosts, h)
	if cn := valueNode(n, "checks"); cn != nil {
		l.list(file, cn, join(path, "checks"), func(c *yaml.Node, p string) { l.check(file, c, p, h) })
	}
	if v := valueNode(n, "notify"); v != nil {
		if l.hostNotify == nil {
			l.hostNotify = map[string][]*yaml.Node{}
		}
		l.hostNotify[h.Name] = listItems(v)
	}
	l.heartbeat(file, n, path, h)
	if hf.HostCheck != "" {
		h.HostCheck = h.Name + "/" + hf.HostCheck
		l.hostCheckNodes = append(l.hostCheckNodes, hostCheckRef{h, file, valueNode(n, "host_check"), join(path, "host_check")})
	}
}

type hostCheckRef struct {
	host *Host
	file string
	node *yaml.Node
	path string
}

func badName(name string) string {
	if strings.TrimSpace(name) != name || name == "" {
		return "must not be empty or start or end with spaces"
	}
	for _, r := range name {
		if r == '/' || r < 0x20 || r == 0x7f || r == '?' || r == '#' || r == '%' {
			return fmt.Sprintf("must not contain %q", r)
		}
	}
	return ""
}

func keyNode(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i]
		}
	}
	return m
}

func valueNode(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// digest hashes a node's tree (kinds, tags and values, not its layout)
// plus extra context. It walks the nodes rather than encoding them: an
// encoder per check allocated ~16 KB, 1.6 GB for 100,000 checks.
func digest(n *yaml.Node, extra ...string) string {
	h := sha256.New()
	budget := hashBudget
	hashNode(h, n, 0, &budget)
	for _, e := range extra {
		h.Write([]byte{0})
		h.Write([]byte(e))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// hashBudget bounds the nodes one digest visits: aliases are followed (a
// change under an anchor changes the digest of every check using it), and
// nested aliases can name exponentially many nodes ("billion laughs").
const hashBudget = 100_000

// hashNode writes a node and its children to h, each as its kind, tag and
// value with their lengths, so that no two trees write the same bytes.
// Past the budget it writes a marker instead of descending.
func hashNode(h io.Writer, n *yaml.Node, depth int, budget *int) {
	if n == nil || depth > 64 {
		return
	}
	if *budget--; *budget < 0 {
		io.WriteString(h, "\x00budget\x00")
		return
	}
	if n.Kind == yaml.AliasNode {
		hashNode(h, n.Alias, depth+1, budget)
		return
	}
	var head [24]byte
	binary.LittleEndian.PutUint64(head[0:], uint64(n.Kind))
	binary.LittleEndian.PutUint64(head[8:], uint64(len(n.Content)))
	binary.LittleEndian.PutUint64(head[16:], uint64(len(n.Value)))
	h.Write(head[:])
	io.WriteString(h, n.Value)
	io.WriteString(h, "\x00"+n.ShortTag()+"\x00")
	for _, c := range n.Content {
		hashNode(h, c, depth+1, budget)
	}
}
