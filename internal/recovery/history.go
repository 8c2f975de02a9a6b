package recovery

import (
	"fmt"
	"strings"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/notify"
)

// startLine is the timeline line of an action that starts.
func startLine(rec *Record, steps int, trigger, reason string) incident.Timeline {
	dry, dryWord := "", incident.Str("")
	if rec.DryRun {
		dry, dryWord = "dry run: ", incident.Word("tl.dryrun")
	}
	text := fmt.Sprintf("%srecovery step %d/%d: %s (%s, by %s)", dry, rec.Step, steps, rec.What, trigger, rec.Who)
	key := "action.start.auto"
	if trigger == "manual" {
		key = "action.start.manual"
	}
	return incident.Line(rec.Time, "action", key, text, dryWord, incident.Str(fmt.Sprint(rec.Step)), incident.Str(fmt.Sprint(steps)),
		incident.Str(rec.What), incident.Str(rec.Who), incident.Str(reason))
}

// finishLine is the timeline line of a finished action: refused, a dry
// run, or its exit code and verification, with the action's own error and
// output as they came.
func finishLine(rec *Record) incident.Timeline {
	text := finishText(rec)
	switch {
	case rec.Refused:
		return incident.Line(rec.Time, "action", "action.refused", text, incident.Str(rec.Error))
	case rec.DryRun:
		return incident.Line(rec.Time, "action", "action.dry", text, incident.Str(rec.What))
	}
	var details []string
	if rec.Error != "" {
		details = append(details, "error: "+rec.Error)
	}
	if o := strings.TrimSpace(rec.Output); o != "" {
		details = append(details, "output: "+tail(o, 500))
	}
	if rec.VerifyText != "" {
		details = append(details, rec.VerifyText)
	}
	return incident.Line(rec.Time, "action", "action.finished", text, incident.Str(rec.What), incident.Str(fmt.Sprint(rec.ExitCode)),
		incident.Word("tl.verified."+rec.Verified), incident.Str(strings.Join(details, "; ")))
}

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
