package incident

import (
	"fmt"
	"slices"
)

// Visibilities of a comment.
const (
	VisibilityInternal = "internal" // operators and admins only
	VisibilityCustomer = "customer" // the customer portal too
)

// ParseVisibility checks a requested visibility; "" gives def.
func ParseVisibility(v, def string) (string, error) {
	switch v {
	case "":
		return def, nil
	case VisibilityInternal, VisibilityCustomer:
		return v, nil
	}
	return "", fmt.Errorf("visibility must be internal or customer, not %q", v)
}

// internalKinds are timeline entries for operators only: the notification
// log, escalations, the nag of a missing runbook, and a ticket's move
// between tenants.
var internalKinds = map[string]bool{
	"notified": true, "notify_failed": true, "escalated": true, "runbook_missing": true, "tenant": true,
}

// CustomerVisible reports whether a customer or viewer sees a timeline
// entry: not an internal kind, and a comment only when meant for them.
func CustomerVisible(e Timeline) bool {
	if internalKinds[e.Kind] {
		return false
	}
	if e.Kind == "comment" || e.Visibility != "" {
		return e.Visibility == VisibilityCustomer
	}
	return true
}

// CustomerTimeline returns the entries of tl a customer or viewer sees
// (a new slice; recovery actions lose their technical detail).
func CustomerTimeline(tl []Timeline) []Timeline {
	out := make([]Timeline, 0, len(tl))
	for _, e := range tl {
		if !CustomerVisible(e) {
			continue
		}
		if e.Kind == "action" {
			e.Data = nil // the command's output and the runner's budget
		}
		out = append(out, e)
	}
	return out
}

// CustomerView is the incident as its tenant's customers and viewers see
// it: a copy with the customer timeline and without the operators'
// notification and escalation settings.
func (in *Incident) CustomerView() *Incident {
	c := *in
	c.Timeline = CustomerTimeline(in.Timeline)
	c.Notify, c.EscLevel, c.EscRound, c.EscNextAt = nil, -1, 0, nil
	c.Attached = slices.Clone(in.Attached)
	return &c
}

// CustomerView is the ticket as its tenant's customers and viewers see it.
func (t *Ticket) CustomerView() *Ticket {
	c := *t
	if t.Timeline != nil {
		c.Timeline = CustomerTimeline(t.Timeline)
	}
	return &c
}
