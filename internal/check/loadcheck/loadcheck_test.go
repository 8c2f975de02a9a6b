package loadcheck

import (
	"context"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
)

func TestEvaluate(t *testing.T) {
	smp := Sample{Load1: 9, Load5: 6, Load15: 1, CPUs: 4}
	tests := []struct {
		name string
		spec Spec
		want check.Status
		out  string
	}{
		{"default 5m warning", Spec{Minutes: 5, Warning: 5, Critical: 10}, check.Warning, "load average (5 min) 6.00"},
		{"1m critical", Spec{Minutes: 1, Warning: 5, Critical: 8}, check.Critical, "> critical 8.00"},
		{"15m ok", Spec{Minutes: 15, Warning: 5, Critical: 10}, check.OK, "(15 min) 1.00"},
		{"per cpu ok", Spec{Minutes: 5, PerCPU: true, Warning: 1.5, Critical: 3}, check.OK, "per CPU (5 min) 1.50 on 4 CPUs"},
		{"per cpu warning", Spec{Minutes: 1, PerCPU: true, Warning: 1.5, Critical: 3}, check.Warning, "2.25"},
		{"no thresholds", Spec{Minutes: 5}, check.OK, ""},
		{"equal is not over", Spec{Minutes: 5, Warning: 6}, check.OK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Evaluate(&tt.spec, smp)
			if r.Status != tt.want || !strings.Contains(r.Output, tt.out) {
				t.Fatalf("got %v %q, want %v containing %q", r.Status, r.Output, tt.want, tt.out)
			}
			if len(r.Perf) != 3 {
				t.Fatalf("perf %v", r.Perf)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		spec Spec
		bad  string
	}{
		{Spec{Minutes: 5, Warning: 5, Critical: 10}, ""},
		{Spec{Minutes: 3}, "minutes"},
		{Spec{Minutes: 5, Warning: 10, Critical: 5}, "warning"},
		{Spec{Minutes: 5, Critical: -1}, "critical"},
	}
	for _, tt := range tests {
		errs := tt.spec.Validate()
		if (tt.bad == "") != (len(errs) == 0) || (tt.bad != "" && errs[0].Field != tt.bad) {
			t.Errorf("%+v: %v", tt.spec, errs)
		}
	}
}

func TestRealSystem(t *testing.T) {
	k, _ := check.Lookup("load")
	if k.Scope != check.ScopeAgent {
		t.Fatal("load must be an agent check")
	}
	sp := k.New().(*Spec)
	sp.Warning, sp.Critical = 0, 0
	c, err := sp.New(check.Env{})
	if err != nil {
		t.Fatal(err)
	}
	r := check.Run(context.Background(), k, c, 0)
	if r.Status != check.OK || !strings.HasPrefix(r.Output, "LOAD OK - load average (5 min)") {
		t.Fatalf("%v %q", r.Status, r.Output)
	}
}
