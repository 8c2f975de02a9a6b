package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
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

// TestAWSHealthCLI: `mamori check aws_health` against the fake's AWS Health
// (JSON 1.1, signed for us-east-1 whatever AWS_REGION says).
func TestAWSHealthCLI(t *testing.T) {
	f := awsfake.New(t)
	f.Env(t)
	h := awsfake.NewHealth(f)
	run := func(extra ...string) (string, int) {
		return mamori(t, append([]string{"check", "aws_health", "--endpoint-url", f.URL}, extra...)...)
	}
	at := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Hour)
	change := awsfake.HealthEvent{ARN: "arn:aws:health:ap-northeast-1::event/EC2/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED/R1", Service: "EC2",
		TypeCode: "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED", Category: "scheduledChange", Region: awsfake.Region, Status: "upcoming", Start: at,
		Entities: []awsfake.HealthEntity{{Value: "i-0a1b2c3d4e5f60718", Status: "PENDING"}}}
	issue := awsfake.HealthEvent{ARN: "arn:aws:health:ap-northeast-1::event/RDS/AWS_RDS_HARDWARE_MAINTENANCE/I1", Service: "RDS",
		TypeCode: "AWS_RDS_OPERATIONAL_ISSUE", Category: "issue", Region: awsfake.Region, Status: "open", Start: time.Now().Add(-time.Hour),
		Entities: []awsfake.HealthEntity{{Value: "aurora-prod-1", Status: "IMPAIRED"}}}
	for _, c := range []struct {
		name   string
		events []awsfake.HealthEvent
		args   []string
		code   int
		out    string
	}{
		{"none", nil, nil, 0, "AWS_HEALTH OK - no open issue or scheduled change"},
		{"scheduled change", []awsfake.HealthEvent{change}, nil, 1, "starts " + at.Format("2006-01-02 15:04 UTC") + ": i-0a1b2c3d4e5f60718"},
		{"open issue", []awsfake.HealthEvent{change, issue}, nil, 2, "open issue RDS AWS_RDS_OPERATIONAL_ISSUE"},
		{"other service only", []awsfake.HealthEvent{change, issue}, []string{"--services", "EC2"}, 1, "EC2"},
	} {
		h.Set(c.events...)
		out, code := run(c.args...)
		if code != c.code || !strings.Contains(out, c.out) {
			t.Errorf("%s: exit %d %q, want %d containing %q", c.name, code, out, c.code, c.out)
		}
	}
	f.Fail("health", "DescribeEvents", awsfake.SubscriptionRequired())
	if out, code := run(); code != 3 || !strings.Contains(out, "support plan") {
		t.Errorf("subscription required: exit %d %q", code, out)
	}
	if out, code := run("--categories", "outage"); code != 3 || !strings.Contains(out, "categories") {
		t.Errorf("bad category: exit %d %q", code, out)
	}
}

// TestAWSRecoveryEndToEnd: an EC2 instance turns impaired in the fake →
// soft → hard → incident → the aws_ec2 action reboots it through the SDK →
// the fake reports ok → recovered, all on the incident's timeline.
func TestAWSRecoveryEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	f := awsfake.New(t)
	f.Env(t)
	ec2 := awsfake.NewEC2(f)
	const id = "i-0fedcba9876543210"
	ec2.Put(awsfake.Instance{ID: id, Name: "web01"})
	dir := t.TempDir()
	port := freePort(t)
	cfgPath := filepath.Join(dir, "mamori.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: %s
recovery: {enabled: true}
aws_accounts:
  - name: prod
    regions: [%s]
    endpoint_url: %s
    access_key_id: ${AWS_ACCESS_KEY_ID}
    secret_access_key: ${AWS_SECRET_ACCESS_KEY}
checks:
  - name: web01-ec2
    type: aws_ec2
    account: prod
    instance_id: %s
    interval: 1s
    attempts: 2
    recovery: [{after: 1s, action: aws_ec2, account: prod, instance_id: %s, operation: reboot, wait: 30s, verify_within: 20s}]
`, port, filepath.Join(dir, "data"), awsfake.Region, f.URL, id, id)), 0o644)
	if out, code := mamori(t, "validate", "--config", cfgPath); code != 0 {
		t.Fatalf("validate: %s", out)
	}
	s := startServer(t, cfgPath, port)
	s.waitFor("web01-ec2", 20*time.Second, "OK", func(c apiCheck) bool { return c.State == "OK" && c.LastCheck != "" })

	ec2.Update(id, func(i *awsfake.Instance) { i.Status = "impaired" })
	sawSoft := false
	s.waitFor("web01-ec2", 30*time.Second, "hard CRITICAL", func(c apiCheck) bool {
		sawSoft = sawSoft || c.StateType == "soft"
		return c.StateType == "hard" && c.State == "CRITICAL"
	})
	if !sawSoft {
		t.Log("the soft state was too short to see (attempts 2, interval 1s)")
	}
	in := s.incidentOf("web01-ec2", 60*time.Second, "resolved with the verification on the timeline", func(in apiIncident) bool {
		return in.Status == "resolved" && strings.Contains(timelineText(in), "verification: OK")
	})
	tl := timelineText(in)
	for _, want := range []string{"[opened]", "instance status check impaired", "recovery step 1/1", "EC2 reboot " + id,
		"RebootInstances " + id + " accepted; status checks ok", "verification: OK", "[recovered]", "[resolved]"} {
		if !strings.Contains(tl, want) {
			t.Errorf("timeline lacks %q:\n%s", want, tl)
		}
	}
	if got := ec2.Get(id); got.Reboots != 1 || got.Status != "ok" {
		t.Fatalf("instance after recovery: %+v", got)
	}
	var metrics string
	req, _ := http.NewRequest("GET", s.base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		metrics = string(b)
	}
	if !strings.Contains(metrics, `mamori_aws_api_calls_total{account="prod",operation="RebootInstances",outcome="ok",service="EC2"} 1`) {
		t.Errorf("/metrics lacks the reboot call:\n%s", grepLines(metrics, "mamori_aws"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestAWSDiscover: `mamori aws discover` lists the account's instances with
// the tags asked and writes check YAML that a config can include as is; a
// service whose listing fails is reported and the others go on.
func TestAWSDiscover(t *testing.T) {
	f := awsfake.New(t)
	f.Env(t)
	ec2 := awsfake.NewEC2(f)
	awsfake.NewHealth(f)
	ec2.Put(awsfake.Instance{ID: "i-0000000000000aaa1", Name: "web 01", Tags: map[string]string{"env": "prod"}})
	ec2.Put(awsfake.Instance{ID: "i-0000000000000bbb2", Name: "batch", Tags: map[string]string{"env": "dev"}})
	ec2.Put(awsfake.Instance{ID: "i-0000000000000ccc3", Name: "old", State: "terminated", Tags: map[string]string{"env": "prod"}})
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "mamori.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`aws_accounts:
  - {name: prod, regions: [%s], endpoint_url: %q}
include: discovered.yaml
`, awsfake.Region, f.URL)), 0o644)
	// The include does not exist yet: discovery reads the accounts from a config of its own.
	accounts := filepath.Join(dir, "accounts.yaml")
	os.WriteFile(accounts, []byte(fmt.Sprintf("aws_accounts:\n  - {name: prod, regions: [%s], endpoint_url: %q}\n", awsfake.Region, f.URL)), 0o644)
	out, code := mamori(t, "aws", "discover", "--config", accounts, "--account", "prod", "--tags", "env=prod", "--services", "ec2,health",
		"--write", filepath.Join(dir, "discovered.yaml"))
	if code != 0 {
		t.Fatalf("discover: %d %s", code, out)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "discovered.yaml"))
	y := string(b)
	for _, want := range []string{"name: web-01-ec2", "type: aws_ec2", "instance_id: i-0000000000000aaa1", "account: prod",
		"name: web-01-cpu", "metric: CPUUtilization", "dimensions: {InstanceId: i-0000000000000aaa1}",
		"name: prod-health", "type: aws_health", "regions: [" + awsfake.Region + ", global]"} {
		if !strings.Contains(y, want) {
			t.Errorf("discovered YAML lacks %q:\n%s", want, y)
		}
	}
	if strings.Contains(y, "bbb2") || strings.Contains(y, "ccc3") {
		t.Errorf("other tags or terminated instances listed:\n%s", y)
	}
	if out, code := mamori(t, "validate", "--config", cfgPath); code != 0 {
		t.Fatalf("the discovered checks do not validate: %s\n%s", out, y)
	}

	// Every service: those the fake does not serve are reported, EC2 is still written.
	all := filepath.Join(dir, "all.yaml")
	out, code = mamori(t, "aws", "discover", "--config", accounts, "--account", "prod", "--write", all)
	if code != 1 || !strings.Contains(out, "rds prod/"+awsfake.Region+": operation error RDS: DescribeDBClusters") ||
		!strings.Contains(out, "ec2 prod/"+awsfake.Region+": 2 resource(s)") {
		t.Errorf("discovery of every service: exit %d\n%s", code, out)
	}
	if b, _ := os.ReadFile(all); !strings.Contains(string(b), "instance_id: i-0000000000000bbb2") {
		t.Errorf("the services that answered were not written:\n%s", b)
	}
}
