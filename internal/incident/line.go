package incident

import (
	"encoding/json"
	"time"
)

// Msg is a system-written timeline line as a message key and its
// arguments, kept in the line's Data: every reader then gets the line in
// their own language and time zone (the console's catalogue has "tl.KEY"),
// while Text keeps the English sentence for the API and older readers.
type Msg struct {
	Key  string `json:"msg"`
	Args []Arg  `json:"args,omitempty"`
}

// Arg is one argument of a Msg: a plain string, a catalogue key (a word the
// reader's language has, such as a status), a duration or a time.
type Arg struct {
	S string     `json:"s,omitempty"`
	K string     `json:"k,omitempty"`
	D *float64   `json:"d,omitempty"` // seconds
	T *time.Time `json:"t,omitempty"`
}

// Str, Word, Dur and At make arguments.
func Str(s string) Arg  { return Arg{S: s} }
func Word(k string) Arg { return Arg{K: k} }
func Dur(d time.Duration) Arg {
	s := d.Round(time.Second).Seconds()
	return Arg{D: &s}
}
func At(t time.Time) Arg { return Arg{T: &t} }

// Line builds a system line of kind at t: text in English, key and args
// for readers in other languages.
func Line(t time.Time, kind, key, text string, args ...Arg) Timeline {
	data, _ := json.Marshal(Msg{Key: key, Args: args}) // strings, numbers, times: cannot fail
	return Timeline{Time: t, Kind: kind, Text: text, Data: data}
}

// Message returns the line's Msg; false for a line without one (comments,
// lines written before messages had keys, lines whose Data is other data).
func (l Timeline) Message() (Msg, bool) {
	if len(l.Data) == 0 || l.Data[0] != '{' {
		return Msg{}, false
	}
	var m Msg
	if json.Unmarshal(l.Data, &m) != nil || m.Key == "" {
		return Msg{}, false
	}
	return m, true
}

// With adds a field to the line's Data object (kept beside its message for
// readers of that data, such as a level change's from and to).
func (l Timeline) With(key string, v any) Timeline {
	m := map[string]any{}
	if len(l.Data) > 0 {
		_ = json.Unmarshal(l.Data, &m) // Line's data is always an object
	}
	m[key] = v
	l.Data, _ = json.Marshal(m) // strings and numbers: cannot fail
	return l
}
