package beanstalkcheck

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck/awsfake"
	"github.com/mamori/mamori/internal/check/awssvc/svctest"
)

func serve(t *testing.T, f *awsfake.Server, status, color, health string) {
	f.Handle("elasticbeanstalk", "DescribeEnvironments", func(r *awsfake.Request) (any, error) {
		if r.Form.Get("EnvironmentNames.member.1") != "shop-prod" {
			return awsfake.XML("<Environments></Environments>"), nil
		}
		return awsfake.XML(fmt.Sprintf(`<Environments><member><EnvironmentName>shop-prod</EnvironmentName><Status>%s</Status><Health>%s</Health><HealthStatus>%s</HealthStatus></member></Environments>`, status, color, health)), nil
	})
	f.Handle("elasticbeanstalk", "DescribeEnvironmentHealth", func(r *awsfake.Request) (any, error) {
		if r.Form.Get("EnvironmentName") != "shop-prod" || r.Form.Get("AttributeNames.member.1") != "Causes" {
			t.Errorf("DescribeEnvironmentHealth: %v", r.Form)
		}
		return awsfake.XML(`<EnvironmentName>shop-prod</EnvironmentName><HealthStatus>` + health + `</HealthStatus><Causes><member>100.0 % of the requests are failing with HTTP 5xx.</member></Causes>`), nil
	})
}

func TestBeanstalk(t *testing.T) {
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
			f, env := svctest.Fake(t)
			serve(t, f, c.status, c.color, c.health)
			r := svctest.Check(t, env, "aws_beanstalk", &Spec{Target: svctest.Target(f), Environment: "shop-prod"})
			if r.Status != c.want || !strings.Contains(r.Output, c.text) {
				t.Fatalf("got %s %q, want %s containing %q", r.Status, r.Output, c.want, c.text)
			}
		})
	}
}

func TestBeanstalkAPIErrors(t *testing.T) {
	f, env := svctest.Fake(t)
	serve(t, f, "Ready", "Green", "Ok")
	if r := svctest.Check(t, env, "aws_beanstalk", &Spec{Target: svctest.Target(f), Environment: "shop-staging"}); r.Status != check.Critical || !strings.Contains(r.Output, "environment shop-staging not found in region ap-northeast-1") {
		t.Fatalf("not found: %s %q", r.Status, r.Output)
	}
	f.Fail("elasticbeanstalk", "DescribeEnvironments", &awsfake.Error{Status: 400, Code: "Throttling", Message: "Rate exceeded"})
	f.Handle("elasticbeanstalk", "DescribeEnvironments", func(*awsfake.Request) (any, error) {
		return awsfake.XML(`<Environments><member><EnvironmentName>shop-prod</EnvironmentName><Status>Ready</Status><Health>Green</Health></member></Environments>`), nil
	})
	if r := svctest.Check(t, env, "aws_beanstalk", &Spec{Target: svctest.Target(f), Environment: "shop-prod"}); r.Status != check.OK {
		t.Fatalf("throttled once: %s %q", r.Status, r.Output)
	}
	f.Handle("elasticbeanstalk", "DescribeEnvironments", func(*awsfake.Request) (any, error) {
		return nil, &awsfake.Error{Status: 403, Code: "AccessDenied", Message: "not authorized"}
	})
	if r := svctest.Check(t, env, "aws_beanstalk", &Spec{Target: svctest.Target(f), Environment: "shop-prod"}); r.Status != check.Unknown || !strings.Contains(r.Output, "elasticbeanstalk:DescribeEnvironments") {
		t.Fatalf("access denied: %s %q", r.Status, r.Output)
	}
}
