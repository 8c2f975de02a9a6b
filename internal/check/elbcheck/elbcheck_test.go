package elbcheck

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck/awsfake"
	"github.com/mamori/mamori/internal/check/awssvc/svctest"
)

const tgARN = "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/web/0123456789abcdef"

func targets(states ...string) string {
	var b strings.Builder
	for i, s := range states {
		fmt.Fprintf(&b, `<member><Target><Id>i-0%d</Id><Port>80</Port></Target><HealthCheckPort>80</HealthCheckPort><TargetHealth><State>%s</State><Reason>Target.Timeout</Reason></TargetHealth></member>`, i, s)
	}
	return "<TargetHealthDescriptions>" + b.String() + "</TargetHealthDescriptions>"
}

func serveV2(t *testing.T, f *awsfake.Server, states ...string) {
	f.Handle("elasticloadbalancing", "DescribeLoadBalancers", func(r *awsfake.Request) (any, error) {
		if r.Form.Get("Names.member.1") != "web-alb" {
			return nil, &awsfake.Error{Status: 400, Code: "LoadBalancerNotFound", Message: "One or more load balancers not found"}
		}
		return awsfake.XML(`<LoadBalancers><member><LoadBalancerName>web-alb</LoadBalancerName><LoadBalancerArn>arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:loadbalancer/app/web-alb/1</LoadBalancerArn></member></LoadBalancers>`), nil
	})
	f.Handle("elasticloadbalancing", "DescribeTargetGroups", func(r *awsfake.Request) (any, error) {
		if r.Form.Get("LoadBalancerArn") == "" && r.Form.Get("Names.member.1") != "web" && r.Form.Get("TargetGroupArns.member.1") != tgARN {
			return nil, &awsfake.Error{Status: 400, Code: "TargetGroupNotFound", Message: "One or more target groups not found"}
		}
		return awsfake.XML(`<TargetGroups><member><TargetGroupName>web</TargetGroupName><TargetGroupArn>` + tgARN + `</TargetGroupArn></member></TargetGroups>`), nil
	})
	f.Handle("elasticloadbalancing", "DescribeTargetHealth", func(r *awsfake.Request) (any, error) {
		if r.Form.Get("TargetGroupArn") != tgARN {
			t.Errorf("DescribeTargetHealth: %v", r.Form)
		}
		return awsfake.XML(targets(states...)), nil
	})
}

func TestELBv2(t *testing.T) {
	cases := []struct {
		name   string
		spec   Spec
		states []string
		want   check.Status
		text   string
	}{
		{"all healthy", Spec{TargetGroup: "web", MinHealthy: 1}, []string{"healthy", "healthy"}, check.OK, "target group web: 2 healthy, 0 unhealthy"},
		{"one unhealthy", Spec{LoadBalancer: "web-alb", MinHealthy: 1}, []string{"healthy", "unhealthy", "draining"}, check.Warning, "load balancer web-alb: 1 healthy, 1 unhealthy, 1 other: i-01:80 unhealthy (Target.Timeout)"},
		{"below warning minimum", Spec{TargetGroup: tgARN, MinHealthy: 1, MinHealthyWarning: 3, MaxUnhealthy: 5}, []string{"healthy", "healthy"}, check.Warning, "2 healthy"},
		{"none healthy", Spec{TargetGroup: "web", MinHealthy: 1}, []string{"unhealthy", "unhealthy"}, check.Critical, "0 healthy, 2 unhealthy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, env := svctest.Fake(t)
			serveV2(t, f, c.states...)
			s := c.spec
			s.Target = svctest.Target(f)
			r := svctest.Check(t, env, "aws_elb", &s)
			if r.Status != c.want || !strings.Contains(r.Output, c.text) {
				t.Fatalf("got %s %q, want %s containing %q", r.Status, r.Output, c.want, c.text)
			}
		})
	}
}

func TestClassic(t *testing.T) {
	f, env := svctest.Fake(t)
	states := "InService"
	f.Handle("elasticloadbalancing", "DescribeInstanceHealth", func(r *awsfake.Request) (any, error) {
		if r.Form.Get("LoadBalancerName") != "legacy" {
			return nil, &awsfake.Error{Status: 400, Code: "LoadBalancerNotFound", Message: "There is no ACTIVE Load Balancer named '" + r.Form.Get("LoadBalancerName") + "'"}
		}
		return awsfake.XML(`<InstanceStates><member><InstanceId>i-0a</InstanceId><State>InService</State></member><member><InstanceId>i-0b</InstanceId><State>` + states + `</State><ReasonCode>Instance</ReasonCode></member></InstanceStates>`), nil
	})
	spec := func(name string) *Spec {
		return &Spec{Target: svctest.Target(f), ClassicLoadBalancer: name, MinHealthy: 2}
	}
	if r := svctest.Check(t, env, "aws_elb", spec("legacy")); r.Status != check.OK || !strings.Contains(r.Output, "2 healthy, 0 unhealthy") {
		t.Fatalf("healthy: %s %q", r.Status, r.Output)
	}
	states = "OutOfService"
	if r := svctest.Check(t, env, "aws_elb", spec("legacy")); r.Status != check.Critical || !strings.Contains(r.Output, "i-0b OutOfService (Instance)") {
		t.Fatalf("out of service: %s %q", r.Status, r.Output)
	}
	if r := svctest.Check(t, env, "aws_elb", spec("legacy-us")); r.Status != check.Critical || !strings.Contains(r.Output, "load balancer legacy-us not found in region ap-northeast-1") {
		t.Fatalf("not found: %s %q", r.Status, r.Output)
	}
}

func TestELBAPIErrors(t *testing.T) {
	f, env := svctest.Fake(t)
	serveV2(t, f, "healthy")
	f.Fail("elasticloadbalancing", "DescribeTargetHealth", &awsfake.Error{Status: 400, Code: "Throttling", Message: "Rate exceeded"})
	f.Handle("elasticloadbalancing", "DescribeTargetHealth", func(*awsfake.Request) (any, error) {
		return awsfake.XML(targets("healthy")), nil
	})
	if r := svctest.Check(t, env, "aws_elb", &Spec{Target: svctest.Target(f), TargetGroup: "web", MinHealthy: 1}); r.Status != check.OK || f.Calls("elasticloadbalancing", "DescribeTargetHealth") != 2 {
		t.Fatalf("throttled once: %s %q", r.Status, r.Output)
	}
	if r := svctest.Check(t, env, "aws_elb", &Spec{Target: svctest.Target(f), TargetGroup: "api", MinHealthy: 1}); r.Status != check.Critical || !strings.Contains(r.Output, "not found in region") {
		t.Fatalf("not found: %s %q", r.Status, r.Output)
	}
	f.Handle("elasticloadbalancing", "DescribeTargetHealth", func(*awsfake.Request) (any, error) {
		return nil, &awsfake.Error{Status: 403, Code: "AccessDenied", Message: "not authorized"}
	})
	if r := svctest.Check(t, env, "aws_elb", &Spec{Target: svctest.Target(f), TargetGroup: "web", MinHealthy: 1}); r.Status != check.Unknown || !strings.Contains(r.Output, "elasticloadbalancing:DescribeTargetHealth") {
		t.Fatalf("access denied: %s %q", r.Status, r.Output)
	}
}
