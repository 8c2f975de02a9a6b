package incident

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Ticket kinds.
const (
	TicketInquiry   = "inquiry"   // a customer's question
	TicketOperation = "operation" // requested operations work
)

// Ticket statuses. A ticket is closed only in TicketClosed; any other
// status (reopening) clears ClosedAt.
const (
	TicketOpen       = "open"
	TicketInProgress = "in_progress"
	TicketWaiting    = "waiting" // on the customer or a third party
	TicketResolved   = "resolved"
	TicketClosed     = "closed"
)

// Ticket priorities.
const (
	TicketLow    = "low"
	TicketNormal = "normal"
	TicketHigh   = "high"
	TicketUrgent = "urgent"
)

// TicketKinds, TicketStatuses and TicketPriorities list the valid values in
// their natural order.
var (
	TicketKinds      = []string{TicketInquiry, TicketOperation}
	TicketStatuses   = []string{TicketOpen, TicketInProgress, TicketWaiting, TicketResolved, TicketClosed}
	TicketPriorities = []string{TicketLow, TicketNormal, TicketHigh, TicketUrgent}
)

// Ticket limits.
const (
	TicketTitleMax   = 200      // characters
	TicketBodyMax    = 64 << 10 // bytes, also the limit of a comment
	TicketNameMax    = 200      // characters of an assignee, tenant, host or check name
	TicketLinksMax   = 100      // hosts, checks and incidents each
	TicketCommentMax = TicketBodyMax
)

// Ticket is work opened by hand — a customer inquiry or requested
// operations work — tracked to closure like an incident.
type Ticket struct {
	ID          int64      `json:"id"`
	Tenant      string     `json:"tenant"`
	Kind        string     `json:"kind"`
	Title       string     `json:"title"`
	Body        string     `json:"body"`
	Status      string     `json:"status"`
	Priority    string     `json:"priority"`
	Assignee    string     `json:"assignee"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ClosedAt    *time.Time `json:"closed_at"`
	Hosts       []string   `json:"hosts"`        // linked hosts
	Checks      []string   `json:"checks"`       // linked checks
	IncidentIDs []int64    `json:"incident_ids"` // linked incidents
	// Timeline is the ticket's history, oldest first ("created" is the
	// first entry). Lists leave it out; a single ticket carries it.
	Timeline []Timeline `json:"timeline,omitempty"`
}

// TicketQuery filters tickets. Zero fields do not filter.
type TicketQuery struct {
	Statuses []string
	Tenant   string
	Assignee string
	Kind     string
	Text     string    // substring of the title, the body or a comment
	Since    time.Time // created at or after
	Until    time.Time // created before
	Limit    int       // default 100, at most 1000
	Offset   int
}

// TicketError is an invalid ticket field; Field is its JSON name.
type TicketError struct {
	Field string
	Msg   string
}

func (e *TicketError) Error() string { return e.Field + ": " + e.Msg }

// Validate checks every field a caller sets. The zero status, priority and
// kind are invalid here: CreateTicket fills them in before validating.
func (t *Ticket) Validate() error {
	if err := ticketEnum("kind", t.Kind, TicketKinds); err != nil {
		return err
	}
	if err := ticketEnum("status", t.Status, TicketStatuses); err != nil {
		return err
	}
	if err := ticketEnum("priority", t.Priority, TicketPriorities); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(t.Title) == "":
		return &TicketError{"title", "must not be empty"}
	case utf8.RuneCountInString(t.Title) > TicketTitleMax:
		return &TicketError{"title", fmt.Sprintf("must be at most %d characters (is %d)", TicketTitleMax, utf8.RuneCountInString(t.Title))}
	case strings.ContainsAny(t.Title, "\r\n"):
		return &TicketError{"title", "must be one line"}
	case len(t.Body) > TicketBodyMax:
		return &TicketError{"body", fmt.Sprintf("must be at most %d bytes (64 KiB; is %d)", TicketBodyMax, len(t.Body))}
	}
	for _, f := range []struct{ name, v string }{{"tenant", t.Tenant}, {"assignee", t.Assignee}} {
		if err := ticketName(f.name, f.v); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name string
		v    []string
	}{{"hosts", t.Hosts}, {"checks", t.Checks}} {
		if len(f.v) > TicketLinksMax {
			return &TicketError{f.name, fmt.Sprintf("at most %d links", TicketLinksMax)}
		}
		for i, v := range f.v {
			field := fmt.Sprintf("%s[%d]", f.name, i)
			if strings.TrimSpace(v) == "" {
				return &TicketError{field, "must not be empty"}
			}
			if err := ticketName(field, v); err != nil {
				return err
			}
		}
	}
	if len(t.IncidentIDs) > TicketLinksMax {
		return &TicketError{"incident_ids", fmt.Sprintf("at most %d links", TicketLinksMax)}
	}
	for i, id := range t.IncidentIDs {
		if id <= 0 {
			return &TicketError{fmt.Sprintf("incident_ids[%d]", i), "must be a positive incident id"}
		}
	}
	return nil
}

// ValidateTicketComment checks a comment's text.
func ValidateTicketComment(text string) error {
	if strings.TrimSpace(text) == "" {
		return &TicketError{"text", "must not be empty"}
	}
	if len(text) > TicketCommentMax {
		return &TicketError{"text", fmt.Sprintf("must be at most %d bytes (64 KiB; is %d)", TicketCommentMax, len(text))}
	}
	return nil
}

func ticketEnum(field, v string, valid []string) error {
	if slices.Contains(valid, v) {
		return nil
	}
	if v == "" {
		return &TicketError{field, "must be one of " + strings.Join(valid, ", ")}
	}
	return &TicketError{field, fmt.Sprintf("unknown %s %q (must be one of %s)", field, v, strings.Join(valid, ", "))}
}

func ticketName(field, v string) error {
	if utf8.RuneCountInString(v) > TicketNameMax {
		return &TicketError{field, fmt.Sprintf("must be at most %d characters", TicketNameMax)}
	}
	if strings.ContainsAny(v, "\r\n\t") {
		return &TicketError{field, "must be one line"}
	}
	return nil
}
