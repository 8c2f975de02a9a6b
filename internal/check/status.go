// Package check defines what every check type shares: the Status of a result,
// the Result itself with its performance data, the Checker interface, the
// registry of check kinds, and threshold helpers.
//
// A check type lives in its own package under internal/check/<name>check and
// registers itself in init with Register; internal/check/all imports them all.
package check

import (
	"fmt"
	"strings"
)

// Status is a check verdict, numbered as Nagios plugin exit codes.
type Status int

// The four verdicts, equal to the plugin exit codes 0..3.
const (
	OK       Status = 0
	Warning  Status = 1
	Critical Status = 2
	Unknown  Status = 3
)

var statusNames = [...]string{"OK", "WARNING", "CRITICAL", "UNKNOWN"}

func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// ExitCode is the Nagios plugin exit code for s.
func (s Status) ExitCode() int {
	if s < OK || s > Unknown {
		return int(Unknown)
	}
	return int(s)
}

// Problem reports whether s is not OK.
func (s Status) Problem() bool { return s != OK }

// Severity orders statuses for "worst of": OK < UNKNOWN < WARNING < CRITICAL,
// as Nagios does when it aggregates.
func (s Status) Severity() int {
	switch s {
	case OK:
		return 0
	case Unknown:
		return 1
	case Warning:
		return 2
	default:
		return 3
	}
}

// Worst returns the more severe of a and b.
func Worst(a, b Status) Status {
	if b.Severity() > a.Severity() {
		return b
	}
	return a
}

// ParseStatus accepts the names (any case) and the digits 0..3.
func ParseStatus(s string) (Status, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "OK", "0", "UP":
		return OK, nil
	case "WARNING", "WARN", "1":
		return Warning, nil
	case "CRITICAL", "CRIT", "2", "DOWN":
		return Critical, nil
	case "UNKNOWN", "3":
		return Unknown, nil
	}
	return Unknown, fmt.Errorf("unknown status %q (want OK, WARNING, CRITICAL or UNKNOWN)", s)
}

// MarshalText writes the status name.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a status name or digit.
func (s *Status) UnmarshalText(b []byte) error {
	v, err := ParseStatus(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
