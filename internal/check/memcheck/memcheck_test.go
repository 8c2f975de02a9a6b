package memcheck

import (
	"context"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
)

const gib = 1 << 30

func TestEvaluate(t *testing.T) {
	def := Spec{Warning: DefaultWarning, Critical: DefaultCritical, SwapWarning: DefaultSwapWarning, SwapCritical: DefaultSwapCritical}
	tests := []struct {
		name string
		spec Spec
		smp  Sample
		want check.Status
		out  string
	}{
		{"ok no swap", def, Sample{Total: 8 * gib, Available: 4 * gib}, check.OK, "memory 50.0% used (4.0 GiB of 8.0 GiB), no swap"},
		{"warning", def, Sample{Total: 100 * gib, Available: 8 * gib}, check.Warning, "memory 92.0% used"},
		{"critical", def, Sample{Total: 100 * gib, Available: 2 * gib}, check.Critical, "98.0%"},
		{"swap warning", def, Sample{Total: 8 * gib, Available: 4 * gib, SwapTotal: 4 * gib, SwapFree: 1 * gib}, check.Warning, "swap 75.0% used is above warning 50%"},
		{"swap critical beats mem warning", def, Sample{Total: 100 * gib, Available: 8 * gib, SwapTotal: 10 * gib, SwapFree: 1 * gib}, check.Critical, "swap 90.0% used is above critical 80%"},
		{"swap disabled", Spec{Warning: 90}, Sample{Total: 8 * gib, Available: 4 * gib, SwapTotal: 4 * gib}, check.OK, "swap 100.0% used"},
		{"available above total", def, Sample{Total: 8 * gib, Available: 9 * gib}, check.OK, "0.0% used"},
		{"zero total", def, Sample{}, check.Unknown, "total memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Evaluate(&tt.spec, tt.smp)
			if r.Status != tt.want || !strings.Contains(r.Output, tt.out) {
				t.Fatalf("got %v %q, want %v containing %q", r.Status, r.Output, tt.want, tt.out)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		spec Spec
		bad  string
	}{
		{Spec{Warning: 90, Critical: 95}, ""},
		{Spec{Warning: 101}, "warning"},
		{Spec{Warning: 95, Critical: 90}, "warning"},
		{Spec{SwapWarning: 90, SwapCritical: 50}, "swap_warning"},
	} {
		errs := tt.spec.Validate()
		if (tt.bad == "") != (len(errs) == 0) || (tt.bad != "" && errs[0].Field != tt.bad) {
			t.Errorf("%+v: %v", tt.spec, errs)
		}
	}
}

func TestRealSystem(t *testing.T) {
	k, _ := check.Lookup("memory")
	sp := k.New().(*Spec)
	*sp = Spec{}
	c, _ := sp.New(check.Env{})
	r := check.Run(context.Background(), k, c, 0)
	if r.Status != check.OK || !strings.Contains(r.Output, "% used") {
		t.Fatalf("%v %q", r.Status, r.Output)
	}
}
