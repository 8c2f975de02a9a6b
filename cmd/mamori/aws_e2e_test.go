package main

import (
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check/awscheck/awsfake"
)

// TestAWSChecksCLI is the Nagios-plugin interface of the AWS checks, with
// credentials from the environment and the API at --endpoint-url.
func TestAWSChecksCLI(t *testing.T) {
	f := awsfake.New(t)
	f.Env(t)
	ec2 := awsfake.NewEC2(f)
	cw := awsfake.NewCloudWatch(f)
	const id = "i-0a1b2c3d4e5f60718"
	ec2Check := func() (string, int) {
		return mamori(t, "check", "aws_ec2", "--instance-id", id, "--region", awsfake.Region, "--endpoint-url", f.URL)
	}
	when := time.Now().Add(96 * time.Hour).UTC().Truncate(time.Hour)
	for _, c := range []struct {
		name string
		inst awsfake.Instance
		code int
		out  string
	}{
		{"running and ok", awsfake.Instance{ID: id}, 0, "AWS_EC2 OK - " + id + " running"},
		{"impaired", awsfake.Instance{ID: id, Status: "impaired"}, 2, "instance status check impaired"},
		{"stopped", awsfake.Instance{ID: id, State: "stopped"}, 2, "is stopped"},
		{"terminated", awsfake.Instance{ID: id, State: "terminated"}, 2, "is terminated"},
		{"scheduled event", awsfake.Instance{ID: id, Events: []awsfake.Event{{ID: "instance-event-1", Code: "system-maintenance",
			Description: "scheduled maintenance", NotBefore: when, NotAfter: when.Add(time.Hour)}}}, 1,
			"scheduled system-maintenance at " + when.Format("2006-01-02 15:04 UTC")},
	} {
		ec2.Put(c.inst)
		out, code := ec2Check()
		if code != c.code || !strings.Contains(out, c.out) {
			t.Errorf("%s: exit %d %q, want %d containing %q", c.name, code, out, c.code, c.out)
		}
	}

	dims := map[string]string{"LoadBalancer": "app/web/0123456789abcdef"}
	cw.Set("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", dims, "Sum", 5*time.Minute, 12)
	args := []string{"check", "cloudwatch", "--namespace", "AWS/ApplicationELB", "--metric", "HTTPCode_Target_5XX_Count",
		"--dimension", "LoadBalancer=app/web/0123456789abcdef", "--statistic", "Sum", "--period", "5m",
		"--region", awsfake.Region, "--endpoint-url", f.URL}
	for _, c := range []struct {
		warn, crit string
		code       int
	}{{"20", "50", 0}, {"10", "50", 1}, {"5", "10", 2}} {
		out, code := mamori(t, append(args, "--warning", c.warn, "--critical", c.crit)...)
		if code != c.code || !strings.Contains(out, "HTTPCode_Target_5XX_Count{LoadBalancer=app/web/0123456789abcdef} Sum 5m = 12") {
			t.Errorf("cloudwatch -w %s -c %s: exit %d %q, want %d", c.warn, c.crit, code, out, c.code)
		}
	}
}
