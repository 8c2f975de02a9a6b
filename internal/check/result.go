package check

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Metric is one performance-data item: label=value[UOM];[warn];[crit];[min];[max].
// Unset thresholds and bounds are NaN.
type Metric struct {
	Label string  `json:"label"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"` // "", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c"
	Warn  float64 `json:"warn,omitempty"`
	Crit  float64 `json:"crit,omitempty"`
	Min   float64 `json:"min,omitempty"`
	Max   float64 `json:"max,omitempty"`
}

// NaN is the "unset" marker for Metric thresholds and bounds.
var NaN = math.NaN()

// M makes a metric with no thresholds or bounds.
func M(label string, value float64, unit string) Metric {
	return Metric{Label: label, Value: value, Unit: unit, Warn: NaN, Crit: NaN, Min: NaN, Max: NaN}
}

// Seconds makes a time metric in seconds with optional warn/crit durations
// (zero means unset) and a minimum of 0, as check_http prints it.
func Seconds(label string, d, warn, crit time.Duration) Metric {
	m := M(label, math.Round(d.Seconds()*1e6)/1e6, "s")
	if warn > 0 {
		m.Warn = warn.Seconds()
	}
	if crit > 0 {
		m.Crit = crit.Seconds()
	}
	m.Min = 0
	return m
}

// String formats the metric in Nagios perfdata syntax, trimming empty trailing fields.
func (m Metric) String() string {
	label := m.Label
	if strings.ContainsAny(label, " '=") {
		label = "'" + strings.ReplaceAll(label, "'", "''") + "'"
	}
	fields := []string{fmtFloat(m.Value) + m.Unit, fmtOpt(m.Warn), fmtOpt(m.Crit), fmtOpt(m.Min), fmtOpt(m.Max)}
	for len(fields) > 1 && fields[len(fields)-1] == "" {
		fields = fields[:len(fields)-1]
	}
	return label + "=" + strings.Join(fields, ";")
}

func fmtOpt(f float64) string {
	if math.IsNaN(f) {
		return ""
	}
	return fmtFloat(f)
}

func fmtFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "U"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// Result is what one run of a check yields.
type Result struct {
	Status   Status        `json:"state"`
	Output   string        `json:"output"`                // one line, no perfdata
	Long     string        `json:"long_output,omitempty"` // further lines, if any
	Perf     []Metric      `json:"perfdata,omitempty"`
	Time     time.Time     `json:"time"`     // when the run started
	Duration time.Duration `json:"duration"` // how long it took
}

// Resultf builds a result with a formatted one-line output.
func Resultf(s Status, format string, args ...any) Result {
	return Result{Status: s, Output: OneLine(fmt.Sprintf(format, args...))}
}

// With appends perfdata and returns the result.
func (r Result) With(m ...Metric) Result {
	r.Perf = append(r.Perf, m...)
	return r
}

// PerfString is the perfdata part of a plugin line (space separated).
func PerfString(perf []Metric) string {
	parts := make([]string, len(perf))
	for i, m := range perf {
		parts[i] = m.String()
	}
	return strings.Join(parts, " ")
}

// PluginLine renders r as a Nagios plugin's first line: "OUTPUT | PERF".
func (r Result) PluginLine() string {
	if len(r.Perf) == 0 {
		return r.Output
	}
	return r.Output + " | " + PerfString(r.Perf)
}

// OneLine collapses s to one line of at most 1024 bytes: check output comes
// from remote systems and must not break logs, APIs or pages.
func OneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	const max = 1024
	if len(s) > max {
		cut := max
		for cut > 0 && (s[cut]&0xC0) == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// ParsePerf parses Nagios perfdata ("a=1s;2;3;0 'b c'=5%"). Items it cannot
// parse are returned in bad so callers can report them; parsing goes on.
func ParsePerf(s string) (perf []Metric, bad []string) {
	for _, tok := range splitPerf(s) {
		m, ok := parseMetric(tok)
		if !ok {
			bad = append(bad, tok)
			continue
		}
		perf = append(perf, m)
	}
	return perf, bad
}

func splitPerf(s string) []string {
	var out []string
	var cur strings.Builder
	inQuote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			if inQuote && i+1 < len(s) && s[i+1] == '\'' {
				cur.WriteByte('\'')
				i++
				continue
			}
			inQuote = !inQuote
			cur.WriteByte(c)
		case (c == ' ' || c == '\t') && !inQuote:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteByte(c)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

func parseMetric(tok string) (Metric, bool) {
	eq := strings.LastIndexByte(tok, '=')
	if eq <= 0 {
		return Metric{}, false
	}
	label := tok[:eq]
	if len(label) >= 2 && label[0] == '\'' && label[len(label)-1] == '\'' {
		label = strings.ReplaceAll(label[1:len(label)-1], "''", "'")
	}
	fields := strings.Split(tok[eq+1:], ";")
	valUnit := fields[0]
	i := 0
	for i < len(valUnit) && (valUnit[i] == '-' || valUnit[i] == '+' || valUnit[i] == '.' || (valUnit[i] >= '0' && valUnit[i] <= '9') || ((valUnit[i] == 'e' || valUnit[i] == 'E') && i > 0)) {
		i++
	}
	v, err := strconv.ParseFloat(valUnit[:i], 64)
	if err != nil {
		return Metric{}, false
	}
	m := M(label, v, valUnit[i:])
	opt := func(k int) float64 {
		if k >= len(fields) || fields[k] == "" {
			return NaN
		}
		// A threshold may be a range ("10:20"); keep its upper end as the number.
		f := fields[k]
		if j := strings.LastIndexByte(f, ':'); j >= 0 {
			f = f[j+1:]
		}
		x, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return NaN
		}
		return x
	}
	m.Warn, m.Crit, m.Min, m.Max = opt(1), opt(2), opt(3), opt(4)
	return m, true
}
