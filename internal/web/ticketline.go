package web

import (
	"encoding/json"

	"github.com/mamori/mamori/internal/incident"
)

// TicketLine is a ticket's timeline line in the reader's language: the
// store writes its changes with the old and new values in Data, which are
// words of the ticket vocabulary (status, priority, kind); lines without
// such data (comments, titles, links) keep their text.
func (l *Locale) TicketLine(tl incident.Timeline) string {
	var d struct{ From, To, Kind string }
	if len(tl.Data) > 0 && tl.Data[0] == '{' {
		_ = json.Unmarshal(tl.Data, &d) // a line with other data keeps its text
	}
	word := func(vocab, v string) string { return l.Word("ticket."+vocab, v) }
	args := map[string][]string{
		"status":   {word("status", d.From), word("status", d.To)},
		"closed":   {word("status", d.From), word("status", d.To)},
		"resolved": {word("status", d.From), word("status", d.To)},
		"reopened": {word("status", d.From), word("status", d.To)},
		"priority": {word("priority", d.From), word("priority", d.To)},
		"kind":     {word("kind", d.From), word("kind", d.To)},
		"created":  {word("kind", d.Kind)},
		"body":     {},
	}
	a, ok := args[tl.Kind]
	key := "tl.ticket." + tl.Kind
	switch {
	case tl.Kind == "assigned" && d.To != "":
		a, ok, key = []string{d.To}, true, "tl.ticket.assigned"
	case tl.Kind == "assigned" && d.From != "":
		a, ok, key = []string{d.From}, true, "tl.ticket.unassigned"
	case tl.Kind != "created" && tl.Kind != "body" && d.From == "" && d.To == "":
		ok = false
	}
	if !ok || l.T(key) == key {
		return tl.Text
	}
	return fill(l.T(key), a)
}
