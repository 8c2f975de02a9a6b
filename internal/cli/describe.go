package cli

import (
	"io"

	"github.com/mamori/mamori/internal/clidoc"
)

// usageDoc is a command (or subcommand) with its flags, read from the flag
// sets the command itself creates when asked for --help.
type usageDoc struct {
	cmd   *command
	sub   string // "" for a command without subcommands
	flags []clidoc.Flag
}

// selfDescribing: commands whose help says nothing the table does not.
var selfDescribing = map[string]bool{"completion": true, "man": true, "version": true, "check": true}

// describe lists every command and subcommand with its flags.
func describe() []usageDoc {
	var out []usageDoc
	for i := range commands {
		c := &commands[i]
		subs := c.subs
		if len(subs) == 0 || selfDescribing[c.name] {
			subs = []string{""}
		}
		for _, sub := range subs {
			d := usageDoc{cmd: c, sub: sub}
			if !selfDescribing[c.name] {
				d.flags = flagsOf(c, sub)
			}
			out = append(out, d)
		}
	}
	return out
}

func flagsOf(c *command, sub string) []clidoc.Flag {
	args := []string{"--help"}
	if sub != "" {
		args = []string{sub, "--help"}
	}
	sets := clidoc.Capture(func() { c.run(args, io.Discard, io.Discard) })
	seen := map[string]bool{}
	var flags []clidoc.Flag
	for _, fs := range sets {
		for _, f := range clidoc.Flags(fs) {
			if !seen[f.Name] {
				seen[f.Name] = true
				flags = append(flags, f)
			}
		}
	}
	return flags
}
