//go:build !windows

package agent

import (
	"bytes"
	"strings"
	"testing"
)

func TestServiceCommandIsForWindows(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main([]string{"service", "install", "--config", "x.yaml"}, &out, &errb, "test"); code != 2 || !strings.Contains(errb.String(), "for Windows") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}
