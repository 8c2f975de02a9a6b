package agent

import (
	"bytes"
	"strings"
	"testing"
)

// The slim binary names itself in its usage (issue 14: it said "mamori agent").
func TestHelpNamesTheProgram(t *testing.T) {
	for _, tc := range []struct{ version, want, not string }{
		{"mamori-agent v1.2.3 (go1.23, linux/amd64)", "Usage: mamori-agent --server", "Usage: mamori agent"},
		{"mamori v1.2.3 (go1.23, linux/amd64)", "Usage: mamori agent --server", "Usage: mamori-agent"},
	} {
		var out, errb bytes.Buffer
		if code := Main([]string{"--help"}, &out, &errb, tc.version); code != 0 {
			t.Fatalf("%s --help: exit %d", tc.version, code)
		}
		if s := out.String(); !strings.Contains(s, tc.want) || strings.Contains(s, tc.not) {
			t.Errorf("%s --help:\n%s", tc.version, s)
		}
	}
}
