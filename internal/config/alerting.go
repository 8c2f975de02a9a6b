package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mamori/mamori/internal/check/fieldset"
	"github.com/mamori/mamori/internal/duration"
	"github.com/mamori/mamori/internal/maintenance"
	"github.com/mamori/mamori/internal/notify"
	"github.com/mamori/mamori/internal/yamlx"
)

// Contact is a person who can be notified, with an address per channel kind.
type Contact struct {
	Name       string `yaml:"name" required:"true" help:"unique contact name"`
	Lang       string `yaml:"lang" help:"ja or en (default: the incidents' lang)"`
	TimeZone   string `yaml:"timezone" help:"IANA time zone for times in messages (default Asia/Tokyo for ja, UTC for en)"`
	Email      string `yaml:"email" help:"address for email channels"`
	Phone      string `yaml:"phone" help:"E.164 number for phone-call channels (+81...)"`
	LineUserID string `yaml:"line_user_id" help:"LINE user ID for LINE channels"`
	Tenant     string `yaml:"tenant" help:"the customer this contact belongs to, if any"`
	Pos        Pos    `yaml:"-"`
}

// Address returns the contact's address for a contact field name
// (notify.Kind.Recipient).
func (c *Contact) Address(field string) string {
	switch field {
	case "email":
		return c.Email
	case "phone":
		return c.Phone
	case "line_user_id":
		return c.LineUserID
	}
	return ""
}

// Escalation is an ordered policy: each level notifies its targets once
// its delay after the incident opened has passed, until acknowledged or
// resolved; after the last level it starts over `repeat` more times.
type Escalation struct {
	Name        string
	Levels      []Level
	Repeat      int
	RepeatAfter time.Duration
	Pos         Pos
}

// Level is one escalation step. MinLevel (0: any) skips the step for
// incidents below that incident level (障害対応レベル).
type Level struct {
	After    time.Duration
	Targets  []Target
	MinLevel int
}

// Target is a channel, optionally to one contact's address on it.
// MinLevel (0: any) names it only for incidents of that level or above.
type Target struct {
	Channel  string
	Contact  string
	MinLevel int
}

// Applies reports whether a target of step lv is notified for an
// incident of level incLevel (0 counts as DefaultLevel).
func (lv Level) Applies(t Target, incLevel int) bool {
	if incLevel == 0 {
		incLevel = DefaultLevel
	}
	return incLevel >= lv.MinLevel && incLevel >= t.MinLevel
}

// Incidents tunes incident handling.
type Incidents struct {
	AutoResolve  bool          `yaml:"auto_resolve" help:"resolve an incident when its check recovers"`
	AckTarget    time.Duration `yaml:"ack_target" help:"response target: acknowledged within this long after the problem became hard, i.e. the alert (default 10m)"`
	ReportTarget time.Duration `yaml:"report_target" help:"response target: recovery reported within this long after recovery (default 5m)"`
	Lang         string        `yaml:"lang" help:"language of messages to channels without a contact: ja or en (default ja)"`
	GiveUpAfter  time.Duration `yaml:"give_up_after" help:"a notification still failing after this long is marked failed (default 24h)"`
}

// AutoResolves reports whether recovery resolves the incident.
func (i Incidents) AutoResolves() bool { return i.AutoResolve }

// channelKeys are a channel entry's own keys; the rest belongs to its type.
var channelKeys = map[string]bool{"name": true, "type": true, "lang": true}

func (l *loader) channel(file string, n *yaml.Node, path string) {
	ch := Channel{Pos: Pos{file, n.Line}}
	if v := valueNode(n, "name"); v != nil {
		ch.Name = v.Value
	}
	if v := valueNode(n, "lang"); v != nil {
		ch.Lang = v.Value
		if ch.Lang != "ja" && ch.Lang != "en" {
			l.errAt(file, v, join(path, "lang"), "must be ja or en")
		}
	}
	if ch.Name == "" {
		l.errAt(file, n, join(path, "name"), "is required")
	} else if msg := badName(ch.Name); msg != "" {
		l.errAt(file, keyNode(n, "name"), join(path, "name"), "%s", msg)
	}
	names := channelTypeNames()
	switch v := valueNode(n, "type"); {
	case v == nil:
		l.errAt(file, n, join(path, "type"), "is required (one of %s)", strings.Join(names, ", "))
	default:
		ch.Type = v.Value
		kind, ok := notify.Lookup(v.Value)
		if !ok {
			l.errAt(file, v, join(path, "type"), "unknown channel type %q%s (known: %s)", v.Value, fieldset.SuggestKey(v.Value, names), strings.Join(names, ", "))
			break
		}
		ch.Kind, ch.Spec = kind, kind.New()
		l.issues(file, path, fieldset.DecodeMapping(n, ch.Spec, channelKeys))
		reported := map[string]bool{}
		for _, fe := range append(fieldset.MissingRequired(ch.Spec), ch.Spec.Validate()...) {
			if reported[fe.Field] {
				continue
			}
			reported[fe.Field] = true
			at := keyNode(n, fe.Field)
			if v := valueNode(n, fe.Field); v != nil {
				at = v
			}
			l.errAt(file, at, join(path, fe.Field), "%s", fe.Msg)
		}
	}
	for _, other := range l.cfg.Channels {
		if other.Name == ch.Name && ch.Name != "" {
			l.errAt(file, keyNode(n, "name"), join(path, "name"), "duplicate channel %q (first at %s:%d)", ch.Name, other.Pos.File, other.Pos.Line)
		}
	}
	l.cfg.Channels = append(l.cfg.Channels, ch)
}

func channelTypeNames() []string {
	var out []string
	for _, k := range notify.Kinds() {
		out = append(out, k.Name)
	}
	return out
}

func (l *loader) contact(file string, n *yaml.Node, path string) {
	c := &Contact{Pos: Pos{file, n.Line}}
	l.issues(file, path, fieldset.DecodeMapping(n, c, nil))
	if c.Name == "" {
		l.errAt(file, n, join(path, "name"), "is required")
		return
	}
	if c.Lang != "" && c.Lang != "ja" && c.Lang != "en" {
		l.errAt(file, valueNode(n, "lang"), join(path, "lang"), "must be ja or en")
	}
	if c.TimeZone != "" {
		if _, err := time.LoadLocation(c.TimeZone); err != nil {
			l.errAt(file, valueNode(n, "timezone"), join(path, "timezone"), "unknown time zone %q", c.TimeZone)
		}
	}
	if c.Phone != "" && !isE164(c.Phone) {
		l.errAt(file, valueNode(n, "phone"), join(path, "phone"), "must be an E.164 number like +81312345678")
	}
	if c.Email != "" && !strings.Contains(c.Email, "@") {
		l.errAt(file, valueNode(n, "email"), join(path, "email"), "is not an email address")
	}
	for _, o := range l.cfg.Contacts {
		if o.Name == c.Name {
			l.errAt(file, keyNode(n, "name"), join(path, "name"), "duplicate contact %q (first at %s:%d)", c.Name, o.Pos.File, o.Pos.Line)
			return
		}
	}
	l.cfg.Contacts = append(l.cfg.Contacts, c)
}

func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

type rawTarget struct {
	t    Target
	node *yaml.Node
	path string
}

type escalationRefs struct {
	file    string
	targets []rawTarget
}

func (l *loader) escalation(file string, n *yaml.Node, path string) {
	e := &Escalation{Pos: Pos{file, n.Line}}
	refs := &escalationRefs{file: file}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "name":
			e.Name = v.Value
		case "repeat":
			var r int
			if err := v.Decode(&r); err != nil || r < 0 {
				l.errAt(file, v, join(path, "repeat"), "must be a whole number ≥ 0")
			}
			e.Repeat = r
		case "repeat_after":
			d, err := duration.Parse(v.Value)
			if err != nil {
				l.errAt(file, v, join(path, "repeat_after"), "%v", err)
			}
			e.RepeatAfter = d
		case "levels":
			l.list(file, v, join(path, "levels"), func(ln *yaml.Node, lp string) {
				e.Levels = append(e.Levels, l.level(file, ln, lp, refs))
			})
		default:
			l.errAt(file, k, join(path, k.Value), "unknown field%s", fieldset.SuggestKey(k.Value, []string{"name", "levels", "repeat", "repeat_after"}))
		}
	}
	if e.Name == "" {
		l.errAt(file, n, join(path, "name"), "is required")
		return
	}
	if len(e.Levels) == 0 {
		l.errAt(file, n, join(path, "levels"), "needs at least one level")
	}
	for i := 1; i < len(e.Levels); i++ {
		if e.Levels[i].After < e.Levels[i-1].After {
			l.errAt(file, n, fmt.Sprintf("%s.levels[%d].after", path, i), "must not be earlier than the level before it")
		}
	}
	if e.Repeat > 0 && e.RepeatAfter == 0 && len(e.Levels) > 0 {
		e.RepeatAfter = max(e.Levels[len(e.Levels)-1].After, 10*time.Minute)
	}
	if l.escRefs == nil {
		l.escRefs = map[*Escalation]*escalationRefs{}
	}
	l.escRefs[e] = refs
	l.cfg.Escalations = append(l.cfg.Escalations, e)
}

func (l *loader) level(file string, n *yaml.Node, path string, refs *escalationRefs) Level {
	var lv Level
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "after":
			d, err := duration.Parse(v.Value)
			if err != nil {
				l.errAt(file, v, join(path, "after"), "%v", err)
			}
			lv.After = d
		case "min_level":
			lv.MinLevel = l.minLevel(file, v, join(path, "min_level"))
		case "notify":
			if v.Kind != yaml.SequenceNode {
				l.errAt(file, v, join(path, "notify"), "must be a list of channels or {channel, contact} mappings")
				continue
			}
			for j, item := range v.Content {
				p := fmt.Sprintf("%s.notify[%d]", path, j)
				t, ok := l.target(file, item, p)
				if !ok {
					continue
				}
				lv.Targets = append(lv.Targets, t)
				refs.targets = append(refs.targets, rawTarget{t, item, p})
			}
		default:
			l.errAt(file, k, join(path, k.Value), "unknown field (want after, min_level and notify)")
		}
	}
	if len(lv.Targets) == 0 {
		l.errAt(file, n, join(path, "notify"), "is required")
	}
	return lv
}

// target decodes one entry of an escalation step's notify list.
func (l *loader) target(file string, item *yaml.Node, p string) (Target, bool) {
	var t Target
	switch item.Kind {
	case yaml.ScalarNode:
		t.Channel = item.Value
	case yaml.MappingNode:
		for m := 0; m+1 < len(item.Content); m += 2 {
			switch k, v := item.Content[m], item.Content[m+1]; k.Value {
			case "channel":
				t.Channel = v.Value
			case "contact":
				t.Contact = v.Value
			case "min_level":
				t.MinLevel = l.minLevel(file, v, join(p, "min_level"))
			default:
				l.errAt(file, k, join(p, k.Value), "unknown field (want channel, contact and min_level)")
			}
		}
	default:
		l.errAt(file, item, p, "must be a channel name or a {channel, contact, min_level} mapping")
		return t, false
	}
	return t, true
}

// minLevel decodes a min_level: an incident level 1..3.
func (l *loader) minLevel(file string, v *yaml.Node, path string) int {
	var n int
	if err := v.Decode(&n); err != nil || n < 1 || n > 3 {
		l.errAt(file, v, path, "must be 1, 2 or 3 (the lowest incident level notified)")
		return 0
	}
	return n
}

// resolveAlerting checks references between channels, contacts, escalations
// and checks' notify lists.
func (l *loader) resolveAlerting() {
	c := l.cfg
	channels := map[string]*Channel{}
	for i := range c.Channels {
		channels[c.Channels[i].Name] = &c.Channels[i]
	}
	contacts := map[string]*Contact{}
	for _, ct := range c.Contacts {
		contacts[ct.Name] = ct
	}
	seen := map[string]bool{}
	for _, e := range c.Escalations {
		if seen[e.Name] || channels[e.Name] != nil {
			l.errAt(e.Pos.File, nil, "escalations", "duplicate name %q (escalation policies and channels share one namespace)", e.Name)
		}
		seen[e.Name] = true
		for _, rt := range l.escRefs[e].targets {
			ch := channels[rt.t.Channel]
			if ch == nil {
				l.errAt(l.escRefs[e].file, rt.node, rt.path, "unknown channel %q", rt.t.Channel)
				continue
			}
			if rt.t.Contact == "" {
				continue
			}
			ct := contacts[rt.t.Contact]
			switch {
			case ct == nil:
				l.errAt(l.escRefs[e].file, rt.node, rt.path, "unknown contact %q", rt.t.Contact)
			case ch.Kind != nil && ch.Kind.Recipient == "":
				l.errAt(l.escRefs[e].file, rt.node, rt.path, "channel %q (%s) has a fixed destination; name it without a contact", ch.Name, ch.Type)
			case ch.Kind != nil && ct.Address(ch.Kind.Recipient) == "":
				l.errAt(l.escRefs[e].file, rt.node, rt.path, "contact %q has no %s for channel %q", ct.Name, ch.Kind.Recipient, ch.Name)
			}
		}
	}
	inc := &c.Incidents
	if inc.AckTarget == 0 {
		inc.AckTarget = 10 * time.Minute
	}
	if inc.ReportTarget == 0 {
		inc.ReportTarget = 5 * time.Minute
	}
	if inc.Lang == "" {
		inc.Lang = "ja"
	} else if !slices.Contains([]string{"ja", "en"}, inc.Lang) {
		l.errAt(c.File, nil, "incidents.lang", "must be ja or en")
	}
	if inc.GiveUpAfter == 0 {
		inc.GiveUpAfter = 24 * time.Hour
	}
}

// Escalation finds a policy by name.
func (c *Config) Escalation(name string) *Escalation {
	for _, e := range c.Escalations {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// Channel finds a channel by name.
func (c *Config) Channel(name string) *Channel {
	for i := range c.Channels {
		if c.Channels[i].Name == name {
			return &c.Channels[i]
		}
	}
	return nil
}

// Contact finds a contact by name.
func (c *Config) Contact(name string) *Contact {
	for _, ct := range c.Contacts {
		if ct.Name == name {
			return ct
		}
	}
	return nil
}

// maintenance decodes one configured maintenance window.
func (l *loader) maintenance(file string, n *yaml.Node, path string) {
	var w maintenance.Window
	if err := n.Decode(&w); err != nil {
		var es yamlx.Errors
		if !errors.As(err, &es) {
			l.errAt(file, n, path, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
			return
		}
		l.place(file, path, es)
		return
	}
	for _, err := range w.Validate() {
		var fe *maintenance.FieldError
		if errors.As(err, &fe) {
			at := n
			if v := valueNode(n, strings.SplitN(fe.Field, ".", 2)[0]); v != nil {
				at = v
			}
			l.errAt(file, at, join(path, fe.Field), "%s", fe.Msg)
			continue
		}
		l.errAt(file, n, path, "%v", err)
	}
	if w.Name == "" {
		w.Name = fmt.Sprintf("%s:%d", filepath.Base(file), n.Line)
	}
	w.CreatedBy = "config"
	l.cfg.Maintenance = append(l.cfg.Maintenance, &w)
}
