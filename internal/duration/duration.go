// Package duration parses the durations people write in mamori's config,
// flags, forms and maintenance files.
//
// One grammar everywhere:
//
//   - a Go duration: "250ms", "30s", "5m", "1h30m", "1.5h";
//   - optionally led by whole weeks and days: "2w", "35d", "1d12h", "1w2d3h";
//   - or a bare number of seconds: "10", "0.5".
//
// Surrounding spaces are ignored. Empty text is an error (a caller whose field
// is optional checks for "" first), and so is a negative duration: nothing in
// mamori waits a negative time. Zero ("0", "0s") is accepted; whether zero
// makes sense is the caller's rule.
package duration

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// examples is what every error message suggests.
const examples = "e.g. 30s, 5m, 1h30m, 250ms, 35d"

// ErrEmpty is returned for empty (or all-space) text.
var ErrEmpty = errors.New("empty duration (" + examples + ")")

// Parse reads s in the grammar of the package comment.
func Parse(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, ErrEmpty
	}
	if x, err := strconv.ParseFloat(s, 64); err == nil {
		ns := x * float64(time.Second)
		switch {
		case x < 0:
			return 0, fmt.Errorf("%q: a duration cannot be negative", s)
		case math.IsNaN(ns) || math.IsInf(ns, 0) || ns > math.MaxInt64:
			return 0, fmt.Errorf("%q is not a duration (%s)", s, examples)
		}
		return time.Duration(ns), nil
	}
	d, err := parseUnits(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (%s)", s, examples)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q: a duration cannot be negative", s)
	}
	return d, nil
}

// parseUnits reads optional leading weeks ("2w") and days ("3d") followed by
// an optional Go duration.
func parseUnits(s string) (time.Duration, error) {
	var total time.Duration
	for _, u := range []struct {
		sep  string
		unit time.Duration
	}{{"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}} {
		i := strings.Index(s, u.sep)
		if i < 0 {
			continue
		}
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 || n > int(math.MaxInt64/u.unit) {
			return 0, fmt.Errorf("bad %s count %q", u.sep, s[:i])
		}
		total += time.Duration(n) * u.unit
		s = s[i+1:]
	}
	if s == "" {
		return total, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return d, nil
	}
	if total > math.MaxInt64-d {
		return 0, errors.New("overflow")
	}
	return total + d, nil
}
