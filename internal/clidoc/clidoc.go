// Package clidoc lets the command line describe itself from its own flag
// definitions: commands create their flag sets with NewFlagSet, and
// Capture records those a command creates while it answers --help, so that
// the man page and the shell completions are generated from the very
// definitions the parser uses.
package clidoc

import (
	"flag"
	"sync"
)

var (
	mu       sync.Mutex
	active   bool
	captured []*flag.FlagSet
)

// NewFlagSet is flag.NewFlagSet, recorded while a Capture runs.
func NewFlagSet(name string, h flag.ErrorHandling) *flag.FlagSet {
	fs := flag.NewFlagSet(name, h)
	mu.Lock()
	if active {
		captured = append(captured, fs)
	}
	mu.Unlock()
	return fs
}

// Capture runs f and returns the flag sets it created with NewFlagSet.
// Captures do not nest; f runs under the package's lock-free window, so
// Capture is for documentation generation, not for concurrent use.
func Capture(f func()) []*flag.FlagSet {
	mu.Lock()
	active, captured = true, nil
	mu.Unlock()
	f()
	mu.Lock()
	defer mu.Unlock()
	out := captured
	active, captured = false, nil
	return out
}

// Flag is one flag as documentation shows it.
type Flag struct {
	Name    string // without dashes
	Arg     string // value placeholder ("" for a boolean flag)
	Usage   string
	Default string // "" when zero
}

// Flags lists fs's flags in lexical order.
func Flags(fs *flag.FlagSet) []Flag {
	var out []Flag
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		if isBool(f) {
			arg = ""
		}
		def := f.DefValue
		switch def {
		case "", "0", "false", "0s", "[]":
			def = ""
		}
		out = append(out, Flag{Name: f.Name, Arg: arg, Usage: usage, Default: def})
	})
	return out
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
