package beanstalkcheck

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awsseam/awsfake"
)

func serve(t *testing.T, f *awsfake.Server, status, color, health string) {
	f.Handle("DescribeEnvironments", func(r *awsfake.Request) awsfake.Reply {
		if r.Form.Get("EnvironmentNames.member.1") != "shop-prod" {
			return awsfake.XML("DescribeEnvironments", "<Environments></Environments>")
		}
		return awsfake.XML("DescribeEnvironments", fmt.Sprintf(`<Environments><member><EnvironmentName>shop-prod</EnvironmentName><Status>%s</Status><Health>%s</Health><HealthStatus>%s</HealthStatus></member></Environments>`, status, color, health))
	})
	f.Handle("DescribeEnvironmentHealth", func(r *awsfake.Request) awsfake.Reply {
		if r.Form.Get("EnvironmentName") != "shop-prod" || r.Form.Get("AttributeNames.member.1") != "Causes" {
			t.Errorf("DescribeEnvironmentHealth: %v", r.Form)
		}
		return awsfake.XML("DescribeEnvironmentHealth", `<EnvironmentName>shop-prod</EnvironmentName><HealthStatus>`+health+`</HealthStatus><Causes><member>100.0 % of the requests are failing with HTTP 5xx.</member></Causes>`)
	})
}

func TestBeanstalk(t *testing.T) {
	awsfake.Env(t)
	cases := []struct {
		status, color, health string
		want                  check.Status
		text                  string
	}{
		{"Ready", "Green", "Ok", check.OK, "environment shop-prod Ready, health Green (Ok)"},
		{"Updating", "Grey", "Info", check.Warning, "environment shop-prod Updating, health Grey (Info)"},
		{"Ready", "Yellow", "Warning", check.Warning, "health Yellow (Warning): 100.0 % of the requests are failing"},
		{"Ready", "Red", "Severe", check.Critical, "health Red (Severe): 100.0 % of the requests are failing with HTTP 5xx."},
		{"Terminated", "Grey", "", check.Critical, "Terminated"},
	}
	for _, c := range cases {
		t.Run(c.color+c.health, func(t *testing.T) {
			f := awsfake.New(t)
			serve(t, f, c.status, c.color, c.health)
			r := f.Check(t, "aws_beanstalk", &Spec{Target: awsfake.Target(f), Environment: "shop-prod"})
			if r.Status != c.want || !strings.Contains(r.Output, c.text) {
				t.Fatalf("got %s %q, want %s containing %q", r.Status, r.Output, c.want, c.text)
			}
		})
	}
}

func TestBeanstalkAPIErrors(t *testing.T) {
	awsfake.Env(t)
	f := awsfake.New(t)
	serve(t, f, "Ready", "Green", "Ok")
	if r := f.Check(t, "aws_beanstalk", &Spec{Target: awsfake.Target(f), Environment: "shop-staging"}); r.Status != check.Critical || !strings.Contains(r.Output, "environment shop-staging not found in region ap-northeast-1") {
		t.Fatalf("not found: %s %q", r.Status, r.Output)
	}
	f.Handle("DescribeEnvironments", awsfake.Throttle(1, awsfake.QueryError(400, "Throttling", "Rate exceeded"), func(*awsfake.Request) awsfake.Reply {
		return awsfake.XML("DescribeEnvironments", `<Environments><member><EnvironmentName>shop-prod</EnvironmentName><Status>Ready</Status><Health>Green</Health></member></Environments>`)
	}))
	if r := f.Check(t, "aws_beanstalk", &Spec{Target: awsfake.Target(f), Environment: "shop-prod"}); r.Status != check.OK {
		t.Fatalf("throttled once: %s %q", r.Status, r.Output)
	}
	f.Handle("DescribeEnvironments", func(*awsfake.Request) awsfake.Reply {
		return awsfake.QueryError(403, "AccessDenied", "not authorized")
	})
	if r := f.Check(t, "aws_beanstalk", &Spec{Target: awsfake.Target(f), Environment: "shop-prod"}); r.Status != check.Unknown || !strings.Contains(r.Output, "elasticbeanstalk:DescribeEnvironments") {
		t.Fatalf("access denied: %s %q", r.Status, r.Output)
	}
}
