package check

import (
	"encoding/json"
	"math"
)

type metricJSON struct {
	Label string   `json:"label"`
	Value float64  `json:"value"`
	Unit  string   `json:"unit,omitempty"`
	Warn  *float64 `json:"warn,omitempty"`
	Crit  *float64 `json:"crit,omitempty"`
	Min   *float64 `json:"min,omitempty"`
	Max   *float64 `json:"max,omitempty"`
}

func ptrIfSet(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

func valOrNaN(p *float64) float64 {
	if p == nil {
		return NaN
	}
	return *p
}

// MarshalJSON omits unset (NaN) thresholds and bounds; JSON has no NaN.
func (m Metric) MarshalJSON() ([]byte, error) {
	v := m.Value
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	return json.Marshal(metricJSON{m.Label, v, m.Unit, ptrIfSet(m.Warn), ptrIfSet(m.Crit), ptrIfSet(m.Min), ptrIfSet(m.Max)})
}

// UnmarshalJSON is the inverse of MarshalJSON.
func (m *Metric) UnmarshalJSON(b []byte) error {
	var j metricJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*m = Metric{Label: j.Label, Value: j.Value, Unit: j.Unit, Warn: valOrNaN(j.Warn), Crit: valOrNaN(j.Crit), Min: valOrNaN(j.Min), Max: valOrNaN(j.Max)}
	return nil
}
