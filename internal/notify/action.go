package notify

import "time"

// ActionNote is one recovery action taken for an incident, as its
// messages tell it (in each reader's language and zone: notify/tmpl).
type ActionNote struct {
	Action  string    `json:"action"` // service, reboot, command, exhausted, or another action type
	What    string    `json:"what"`   // the service, host or command; for exhausted, what triggered the policy
	Auto    bool      `json:"automatic"`
	Who     string    `json:"who,omitempty"` // who ran it when not automatic
	At      time.Time `json:"at"`
	Outcome string    `json:"outcome"` // one of the Action* outcomes
	Exit    int       `json:"exit_code"`
	Error   string    `json:"error,omitempty"`
}

// Outcomes of an ActionNote.
const (
	ActionDone      = "done"      // ran; the check has not said yet
	ActionRecovered = "recovered" // the check recovered afterwards
	ActionNoHelp    = "no_help"   // the check still fails
	ActionRefused   = "refused"   // not in the agent's allowlist
	ActionDryRun    = "dry_run"   // nothing ran
	ActionGaveUp    = "gave_up"   // the policy is exhausted: people take over
)
