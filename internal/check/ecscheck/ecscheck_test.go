package ecscheck

import (
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awscheck/awsfake"
	"github.com/mamori/mamori/internal/check/awssvc/svctest"
)

type svc struct {
	name             string
	desired, running int
	status, rollout  string
}

func describe(svcs ...svc) awsfake.Handler {
	return func(r *awsfake.Request) (any, error) {
		var out []map[string]any
		var failures []map[string]any
		want, _ := r.Input["services"].([]any)
		for _, w := range want {
			found := false
			for _, s := range svcs {
				if s.name == w {
					found = true
					st := s.status
					if st == "" {
						st = "ACTIVE"
					}
					ro := s.rollout
					if ro == "" {
						ro = "COMPLETED"
					}
					out = append(out, map[string]any{"serviceName": s.name, "status": st, "desiredCount": s.desired,
						"runningCount": s.running, "pendingCount": 0,
						"deployments": []any{map[string]any{"status": "PRIMARY", "rolloutState": ro, "rolloutStateReason": "tasks failed to start"}}})
				}
			}
			if !found {
				failures = append(failures, map[string]any{"arn": "arn:aws:ecs:ap-northeast-1:123456789012:service/web/" + w.(string), "reason": "MISSING"})
			}
		}
		return map[string]any{"services": out, "failures": failures}, nil
	}
}

func spec(f *awsfake.Server, services ...string) *Spec {
	sp := &Spec{Cluster: "web", Services: services, WarningPct: DefaultWarningPct, CriticalPct: DefaultCriticalPct}
	sp.EndpointURL = f.URL
	return sp
}

func TestECS(t *testing.T) {
	f, env := svctest.Fake(t)
	f.Handle("ecs", "ListServices", func(r *awsfake.Request) (any, error) {
		if r.Input["cluster"] != "web" {
			t.Errorf("cluster = %v", r.Input["cluster"])
		}
		return map[string]any{"serviceArns": []string{"api", "worker"}}, nil
	})
	cases := []struct {
		name     string
		services []string
		svcs     []svc
		want     check.Status
		text     string
	}{
		{"all running", nil, []svc{{name: "api", desired: 3, running: 3}, {name: "worker", desired: 1, running: 1}}, check.OK, "2 services at desired count"},
		{"one short", []string{"api"}, []svc{{name: "api", desired: 3, running: 2}}, check.Warning, "api 2/3 running"},
		{"none running", []string{"api"}, []svc{{name: "api", desired: 2, running: 0}}, check.Critical, "api 0/2 running"},
		{"deployment failed", []string{"api"}, []svc{{name: "api", desired: 2, running: 2, rollout: "FAILED"}}, check.Critical, "deployment failed"},
		{"missing", []string{"gone"}, nil, check.Critical, "gone: MISSING"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.Handle("ecs", "DescribeServices", describe(c.svcs...))
			r := svctest.Check(t, env, "aws_ecs", spec(f, c.services...))
			if r.Status != c.want || !strings.Contains(r.Output, c.text) {
				t.Fatalf("got %s %q, want %s containing %q", r.Status, r.Output, c.want, c.text)
			}
		})
	}
}

func TestECSAPIErrors(t *testing.T) {
	f, env := svctest.Fake(t)
	f.Handle("ecs", "DescribeServices", func(*awsfake.Request) (any, error) {
		return nil, &awsfake.Error{Status: 400, Code: "AccessDeniedException", Message: "User: arn:aws:iam::123456789012:user/mamori is not authorized to perform: ecs:DescribeServices"}
	})
	r := svctest.Check(t, env, "aws_ecs", spec(f, "api"))
	if r.Status != check.Unknown || !strings.Contains(r.Output, "ecs:DescribeServices") || !strings.Contains(r.Output, "access denied") {
		t.Fatalf("access denied: %s %q", r.Status, r.Output)
	}

	f.Fail("ecs", "DescribeServices", &awsfake.Error{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"})

	f.Handle("ecs", "DescribeServices", describe(svc{name: "api", desired: 1, running: 1}))
	before := f.Calls("ecs", "DescribeServices")
	r = svctest.Check(t, env, "aws_ecs", spec(f, "api"))
	if r.Status != check.OK || f.Calls("ecs", "DescribeServices")-before != 2 {
		t.Fatalf("throttled once: %s %q after %d calls", r.Status, r.Output, f.Calls("ecs", "DescribeServices")-before)
	}

	f.Handle("ecs", "DescribeServices", func(*awsfake.Request) (any, error) {
		return nil, &awsfake.Error{Status: 400, Code: "ClusterNotFoundException", Message: "Cluster not found."}
	})
	r = svctest.Check(t, env, "aws_ecs", spec(f, "api"))
	if r.Status != check.Critical || !strings.Contains(r.Output, "not found in region ap-northeast-1") {
		t.Fatalf("wrong region: %s %q", r.Status, r.Output)
	}
}

func TestECSValidate(t *testing.T) {
	s := &Spec{Target: awscheck.Target{Region: "ap-northeast-1x"}, WarningPct: 50, CriticalPct: 80}
	errs := s.Validate()
	if len(errs) != 3 {
		t.Fatalf("want 3 errors (region, cluster, critical_pct), got %v", errs)
	}
}
