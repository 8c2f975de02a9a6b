package recovery

import (
	"fmt"
	"strings"

	"github.com/mamori/mamori/internal/check"
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

// ActionsFor describes the actions taken for an incident, for its
// notifications: "nginx restarted automatically at 03:12 (exit 0), service recovered".
func (r *Runner) ActionsFor(incidentID int64) []string {
	r.mu.Lock()
	var recs []Record
	for _, rec := range r.hist {
		if rec.Incident == incidentID && incidentID != 0 {
			recs = append(recs, *rec)
		}
	}
	r.mu.Unlock()
	var out []string
	for _, rec := range recs {
		if rec.Kind == "exhausted" {
			out = append(out, fmt.Sprintf("automatic recovery gave up at %s: %s", rec.Time.Local().Format("15:04"), rec.Trigger))
			continue
		}
		how := "automatically"
		if rec.Who != "mamori" {
			how = "by " + rec.Who
		}
		var what string
		switch rec.Action {
		case "service":
			what = rec.Service + " restarted"
		case "reboot":
			what = rec.Host + " rebooted"
		case "command":
			what = strings.TrimPrefix(rec.What, "agent action ")
			if i := strings.Index(what, " on "); i > 0 {
				what = what[:i]
			}
			what += " run"
		default:
			what = rec.What
		}
		at := rec.Time.Local().Format("15:04")
		var s string
		switch {
		case rec.Refused:
			s = fmt.Sprintf("%s %s at %s: refused (not in the agent's allowlist)", what, how, at)
		case rec.DryRun:
			s = fmt.Sprintf("dry run: %s %s at %s (nothing ran)", what, how, at)
		default:
			s = fmt.Sprintf("%s %s at %s (exit %d)", what, how, at, rec.ExitCode)
			if rec.Error != "" {
				s += ": " + tail(rec.Error, 120)
			}
			switch rec.Verified {
			case "ok":
				s += ", service recovered"
			case "failed":
				s += ", did not help"
			case "":
				if v, ok := r.view(rec.Check); ok && v.Status == check.OK {
					s += ", service recovered"
				}
			}
		}
		out = append(out, s)
	}
	return out
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
