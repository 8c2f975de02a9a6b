package config

import (
	"go.yaml.in/yaml/v3"
)

// Tickets routes ticket notifications (tickets:): a customer's new ticket
// or comment tells the operators; an operator's reply visible to the
// customer tells the tenant's ticket contacts.
type Tickets struct {
	Notify          []string `yaml:"notify" help:"channels (at once) and escalation policies (their first step's targets) told when a customer opens or comments on a ticket, at any hour (default: every channel with a fixed destination, i.e. the operators' chat rooms and webhooks; [] tells no one)"`
	CustomerChannel string   `yaml:"customer_channel" help:"channel through which a tenant's ticket contacts are told of operators' replies (default: report.channel)"`
	// NotifySet is whether notify was written (an empty list tells no one).
	NotifySet bool `yaml:"-"`
}

// OperatorTargets are the targets told of a customer's ticket event.
func (c *Config) OperatorTargets() []Target {
	var out []Target
	if !c.Tickets.NotifySet {
		for _, ch := range c.Channels {
			if ch.Kind != nil && ch.Kind.Recipient == "" {
				out = append(out, Target{Channel: ch.Name})
			}
		}
		return out
	}
	for _, name := range c.Tickets.Notify {
		if c.Channel(name) != nil {
			out = append(out, Target{Channel: name})
		} else if pol := c.Escalation(name); pol != nil && len(pol.Levels) > 0 {
			out = append(out, pol.Levels[0].Targets...)
		}
	}
	return out
}

// TicketChannel is the channel that tells customers of replies ("" none).
func (c *Config) TicketChannel() string {
	if c.Tickets.CustomerChannel != "" {
		return c.Tickets.CustomerChannel
	}
	return c.Report.Channel
}

// TicketContacts are the contacts of a tenant told of operators' replies:
// its ticket_contacts, else its report_contacts.
func (c *Config) TicketContacts(tenant string) []*Contact {
	t := c.Tenant(tenant)
	names := t.TicketContacts
	if len(names) == 0 {
		names = t.ReportContacts
	}
	var out []*Contact
	for _, n := range names {
		if ct := c.Contact(n); ct != nil {
			out = append(out, ct)
		}
	}
	return out
}

// finishTickets checks the tickets: section's and the tenants'
// ticket_contacts references.
func (l *loader) finishTickets() {
	c := l.cfg
	node := l.top["tickets"]
	if node != nil && valueNode(node, "notify") != nil {
		c.Tickets.NotifySet = true
	}
	for i, name := range c.Tickets.Notify {
		if c.Channel(name) == nil && c.Escalation(name) == nil {
			l.errAt(c.File, seqItem(valueNodeOf(node, "notify"), i), "tickets.notify", "unknown channel or escalation policy %q", name)
		}
	}
	ch := c.TicketChannel()
	chn := c.Channel(ch)
	switch {
	case ch == "":
	case chn == nil:
		l.errAt(c.File, valueNodeOf(node, "customer_channel"), "tickets.customer_channel", "unknown channel %q", ch)
	case chn.Kind != nil && chn.Kind.Recipient == "":
		l.errAt(c.File, valueNodeOf(node, "customer_channel"), "tickets.customer_channel", "channel %q (%s) has a fixed destination; customers are told through a channel that addresses contacts (email, LINE, phone)", ch, chn.Type)
	}
	for _, r := range l.tenantNodes {
		for i, name := range r.t.TicketContacts {
			at := seqItem(valueNode(r.node, "ticket_contacts"), i)
			p := join(r.path, "ticket_contacts")
			switch ct := c.Contact(name); {
			case ct == nil:
				l.errAt(r.file, at, p, "unknown contact %q", name)
			case ch == "":
				l.errAt(r.file, at, p, "needs tickets.customer_channel (or report.channel): the channel contacts are told through")
			case chn != nil && chn.Kind != nil && ct.Address(chn.Kind.Recipient) == "":
				l.errAt(r.file, at, p, "contact %q has no %s for channel %q", name, chn.Kind.Recipient, ch)
			}
		}
	}
}

func valueNodeOf(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	return valueNode(n, key)
}
