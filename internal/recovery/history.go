package recovery

import (
	"fmt"
	"strings"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/notify"
)

func finishText(rec *Record) string {
	var b strings.Builder
	switch {
	case rec.Refused:
		fmt.Fprintf(&b, "refused by the agent: %s", rec.Error)
	case rec.DryRun:
		fmt.Fprintf(&b, "dry run: %s was not run", rec.What)
		if rec.Output != "" {
			fmt.Fprintf(&b, " (%s)", tail(rec.Output, 300))
		}
	default:
		fmt.Fprintf(&b, "%s finished: exit code %d", rec.What, rec.ExitCode)
		if rec.Error != "" {
			fmt.Fprintf(&b, ", error: %s", rec.Error)
		}
		if o := strings.TrimSpace(rec.Output); o != "" {
			fmt.Fprintf(&b, "; output: %s", tail(o, 500))
		}
		fmt.Fprintf(&b, "; verification: %s", strings.ToUpper(rec.Verified))
		if rec.VerifyText != "" {
			fmt.Fprintf(&b, " (%s)", rec.VerifyText)
		}
	}
	return b.String()
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	for i := 0; i < len(s) && i < 4; i++ { // not in the middle of a UTF-8 sequence
		if s[i]&0xC0 != 0x80 {
			return "…" + s[i:]
		}
	}
	return "…" + s
}

// ActionNotesFor lists the actions taken for an incident, for its
// notifications to tell in each reader's language and zone.
func (r *Runner) ActionNotesFor(incidentID int64) []notify.ActionNote {
	r.mu.Lock()
	var recs []Record
	for _, rec := range r.hist {
		if rec.Incident == incidentID && incidentID != 0 {
			recs = append(recs, *rec)
		}
	}
	r.mu.Unlock()
	var out []notify.ActionNote
	for _, rec := range recs {
		out = append(out, r.note(rec))
	}
	return out
}

// note is one record as a notification tells it.
func (r *Runner) note(rec Record) notify.ActionNote {
	n := notify.ActionNote{Action: rec.Action, Auto: rec.Who == "mamori", Who: rec.Who, At: rec.Time, Exit: rec.ExitCode, Error: tail(rec.Error, 120)}
	switch rec.Action {
	case "service":
		n.What = rec.Service
	case "reboot":
		n.What = rec.Host
	case "command":
		n.What = strings.TrimPrefix(rec.What, "agent action ")
		if i := strings.Index(n.What, " on "); i > 0 {
			n.What = n.What[:i]
		}
	default:
		n.What = rec.What
	}
	switch {
	case rec.Kind == "exhausted":
		n.Action, n.What, n.Outcome, n.Error = "exhausted", rec.Trigger, notify.ActionGaveUp, ""
	case rec.Refused:
		n.Outcome = notify.ActionRefused
	case rec.DryRun:
		n.Outcome = notify.ActionDryRun
	case rec.Verified == "ok":
		n.Outcome = notify.ActionRecovered
	case rec.Verified == "failed":
		n.Outcome = notify.ActionNoHelp
	default:
		n.Outcome = notify.ActionDone
		if v, ok := r.view(rec.Check); ok && rec.Verified == "" && v.Status == check.OK {
			n.Outcome = notify.ActionRecovered
		}
	}
	return n
}

// History returns the audit log records of a check (all checks if ""), newest first.
func (r *Runner) History(checkName string, limit int) []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Record
	for i := len(r.hist) - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
		if checkName == "" || r.hist[i].Check == checkName {
			out = append(out, *r.hist[i])
		}
	}
	return out
}
