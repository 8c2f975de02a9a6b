package config

import (
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/mamori/mamori/internal/check/fieldset"
)

// DefaultTenantZone is a tenant's time zone when none is set: reports
// cover calendar months in it and are generated on the 1st there.
const DefaultTenantZone = "Asia/Tokyo"

// Reporting is the provider-wide part of the monthly report (report:).
type Reporting struct {
	Provider string `yaml:"provider" help:"the provider's name printed on every report (default mamori)"`
	Contact  string `yaml:"contact" help:"a line under the provider's name: address, phone, URL"`
	Font     string `yaml:"font" help:"TrueType font (.ttf) with Japanese glyphs for PDF reports (default: IPAex Gothic or IPA Gothic from the system's fonts)"`
	Channel  string `yaml:"channel" help:"email channel that mails reports to each tenant's report_contacts"`
	Disabled bool   `yaml:"disabled" help:"do not generate monthly reports on the 1st"`
}

// Tenant is one customer's settings (tenants:). A tenant that hosts and
// checks name without an entry here gets the defaults.
type Tenant struct {
	Name               string   `yaml:"name" required:"true" help:"tenant name, as used by hosts, users and tokens"`
	DisplayName        string   `yaml:"display_name" help:"the customer's name printed on reports (default: name)"`
	Lang               string   `yaml:"lang" help:"language of its reports: ja or en (default ja)"`
	TimeZone           string   `yaml:"timezone" help:"IANA time zone of its reports and their schedule (default Asia/Tokyo)"`
	AvailabilityTarget float64  `yaml:"availability_target" help:"availability target in percent shown against every host and check (e.g. 99.9; 0: none)"`
	ReportContacts     []string `yaml:"report_contacts" help:"contacts (by name) mailed the monthly report as a PDF"`
	TicketContacts     []string `yaml:"ticket_contacts" help:"contacts (by name) told of operators' replies on its tickets through tickets.customer_channel (default: report_contacts)"`
	Pos                Pos      `yaml:"-"`
}

// Location is the tenant's time zone.
func (t *Tenant) Location() *time.Location {
	if loc, err := time.LoadLocation(t.TimeZone); err == nil && t.TimeZone != "" {
		return loc
	}
	loc, err := time.LoadLocation(DefaultTenantZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Title is the name printed for the tenant.
func (t *Tenant) Title() string {
	if t.DisplayName != "" {
		return t.DisplayName
	}
	return t.Name
}

// Tenant returns a tenant's settings, with defaults for a tenant that is
// used but not listed.
func (c *Config) Tenant(name string) *Tenant {
	for _, t := range c.Tenants {
		if t.Name == name {
			return t
		}
	}
	return &Tenant{Name: name, Lang: "ja", TimeZone: DefaultTenantZone}
}

// TenantNames lists every tenant: those listed and those hosts, checks and
// tokens name, in first-seen order.
func (c *Config) TenantNames() []string {
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, t := range c.Tenants {
		add(t.Name)
	}
	for _, h := range c.Hosts {
		add(h.Tenant)
	}
	for _, ch := range c.Checks {
		add(ch.Tenant)
	}
	return out
}

func (l *loader) tenant(file string, n *yaml.Node, path string) {
	t := &Tenant{Pos: Pos{file, n.Line}}
	l.issues(file, path, fieldset.DecodeMapping(n, t, nil))
	if t.Name == "" {
		return // DecodeMapping reported it
	}
	if t.Lang == "" {
		t.Lang = "ja"
	} else if t.Lang != "ja" && t.Lang != "en" {
		l.errAt(file, valueNode(n, "lang"), join(path, "lang"), "must be ja or en")
	}
	if t.TimeZone == "" {
		t.TimeZone = DefaultTenantZone
	} else if _, err := time.LoadLocation(t.TimeZone); err != nil {
		l.errAt(file, valueNode(n, "timezone"), join(path, "timezone"), "unknown time zone %q", t.TimeZone)
	}
	if t.AvailabilityTarget < 0 || t.AvailabilityTarget > 100 {
		l.errAt(file, valueNode(n, "availability_target"), join(path, "availability_target"), "must be a percentage from 0 to 100")
	}
	for _, o := range l.cfg.Tenants {
		if o.Name == t.Name {
			l.errAt(file, keyNode(n, "name"), join(path, "name"), "duplicate tenant %q (first at %s:%d)", t.Name, o.Pos.File, o.Pos.Line)
			return
		}
	}
	l.tenantNodes = append(l.tenantNodes, tenantRef{t, file, path, n})
	l.cfg.Tenants = append(l.cfg.Tenants, t)
}

type tenantRef struct {
	t    *Tenant
	file string
	path string
	node *yaml.Node
}

// finishReporting checks references: report contacts must exist and have
// an email address; the report channel must be an email channel.
func (l *loader) finishReporting() {
	c := l.cfg
	contacts := map[string]*Contact{}
	for _, ct := range c.Contacts {
		contacts[ct.Name] = ct
	}
	for _, r := range l.tenantNodes {
		for i, name := range r.t.ReportContacts {
			ct := contacts[name]
			p := join(r.path, "report_contacts")
			switch {
			case ct == nil:
				l.errAt(r.file, seqItem(valueNode(r.node, "report_contacts"), i), p, "unknown contact %q", name)
			case ct.Email == "":
				l.errAt(r.file, seqItem(valueNode(r.node, "report_contacts"), i), p, "contact %q has no email address", name)
			}
		}
		if len(r.t.ReportContacts) > 0 && c.Report.Channel == "" {
			l.errAt(r.file, valueNode(r.node, "report_contacts"), join(r.path, "report_contacts"), "needs report.channel: the email channel reports are mailed through")
		}
	}
	if c.Report.Channel == "" {
		return
	}
	for _, ch := range c.Channels {
		if ch.Name == c.Report.Channel {
			if ch.Type != "email" {
				l.errAt(c.File, nil, "report.channel", "channel %q is a %s channel; reports are mailed through an email channel", ch.Name, ch.Type)
			}
			return
		}
	}
	l.errAt(c.File, nil, "report.channel", "unknown channel %q", c.Report.Channel)
}

func seqItem(n *yaml.Node, i int) *yaml.Node {
	if n != nil && n.Kind == yaml.SequenceNode && i < len(n.Content) {
		return n.Content[i]
	}
	return n
}
