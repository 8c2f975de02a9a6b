package awshealthcheck_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awscheck/awsfake"
	"github.com/mamori/mamori/internal/check/awshealthcheck"
	"github.com/mamori/mamori/internal/check/awssvc/svctest"
	"github.com/mamori/mamori/internal/cloud"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

const (
	rebootARN = "arn:aws:health:ap-northeast-1::event/EC2/AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED/AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED_ABC123"
	issueARN  = "arn:aws:health:ap-northeast-1::event/EBS/AWS_EBS_VOLUME_LOST/AWS_EBS_VOLUME_LOST_DEF456"
)

func spec(f *awsfake.Server, mod ...func(*awshealthcheck.Spec)) *awshealthcheck.Spec {
	k, _ := check.Lookup("aws_health")
	s := k.New().(*awshealthcheck.Spec)
	s.Target = svctest.Target(f)
	for _, m := range mod {
		m(s)
	}
	return s
}

// run runs the check with a Hub of its own (nothing shared from the run before).
func run(t *testing.T, f *awsfake.Server, mod ...func(*awshealthcheck.Spec)) check.Result {
	t.Helper()
	return svctest.Check(t, svctest.NewEnv(), "aws_health", spec(f, mod...))
}

func reboot(at time.Time, ids ...string) awsfake.HealthEvent {
	e := awsfake.HealthEvent{ARN: rebootARN, Service: "EC2", TypeCode: "AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED",
		Category: "scheduledChange", Region: awsfake.Region, Status: "upcoming", Start: at, End: at.Add(2 * time.Hour)}
	for _, id := range ids {
		e.Entities = append(e.Entities, awsfake.HealthEntity{Value: id, ARN: "arn:aws:ec2:ap-northeast-1:123456789012:instance/" + id, Status: "PENDING"})
	}
	return e
}

func issue(status string) awsfake.HealthEvent {
	return awsfake.HealthEvent{ARN: issueARN, Service: "EBS", TypeCode: "AWS_EBS_VOLUME_LOST", Category: "issue",
		Region: awsfake.Region, Zone: "ap-northeast-1a", Status: "open", Start: time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC),
		Entities: []awsfake.HealthEntity{{Value: "vol-0123456789abcdef0", Status: status}}}
}

func expect(t *testing.T, r check.Result, st check.Status, parts ...string) {
	t.Helper()
	if r.Status != st {
		t.Fatalf("status %v, want %v: %q", r.Status, st, r.Output)
	}
	full := r.Output + " | " + check.PerfString(r.Perf)
	for _, p := range parts {
		if !strings.Contains(full, p) {
			t.Fatalf("output %q lacks %q", r.Output, p)
		}
	}
}

func TestOK(t *testing.T) {
	f, _ := svctest.Fake(t)
	h := awsfake.NewHealth(f)
	closed := issue("RESOLVED")
	closed.Status = "closed"
	h.Set(closed)
	expect(t, run(t, f), check.OK, "AWS_HEALTH OK - no open issue or scheduled change")
	fl := h.Filters()
	if len(fl) != 1 || fmt.Sprint(fl[0]["eventStatusCodes"]) != "[open upcoming]" {
		t.Fatalf("filters sent %v", fl)
	}
	if _, ok := fl[0]["services"]; ok {
		t.Fatalf("an empty services filter was sent: %v", fl[0])
	}
}

func TestScheduledChangeWarning(t *testing.T) {
	f, _ := svctest.Fake(t)
	h := awsfake.NewHealth(f)
	at := time.Date(2026, 12, 9, 1, 0, 0, 0, time.UTC)
	h.Set(reboot(at, "i-0bbbbbbbbbbbbbbb2", "i-0aaaaaaaaaaaaaaa1"))
	r := run(t, f)
	expect(t, r, check.Warning, "scheduled change EC2 AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED (ap-northeast-1) starts 2026-12-09 01:00 UTC",
		": i-0aaaaaaaaaaaaaaa1, i-0bbbbbbbbbbbbbbb2", "scheduled_changes=1")
	if f.Calls("health", "DescribeAffectedEntities") != 1 {
		t.Fatal("the resources were not asked for")
	}
	// Beyond change_within: not yet a warning.
	expect(t, run(t, f, func(s *awshealthcheck.Spec) { s.ChangeWithin = 24 * time.Hour }), check.OK)
	// In progress.
	ev := reboot(time.Now().Add(-time.Hour), "i-0aaaaaaaaaaaaaaa1")
	ev.Status = "open"
	h.Set(ev)
	expect(t, run(t, f, func(s *awshealthcheck.Spec) { s.ChangeWithin = 24 * time.Hour }), check.Warning, "in progress since")
}

func TestIssues(t *testing.T) {
	f, _ := svctest.Fake(t)
	h := awsfake.NewHealth(f)
	h.Set(issue("IMPAIRED"))
	expect(t, run(t, f), check.Critical, "AWS_HEALTH CRITICAL - open issue EBS AWS_EBS_VOLUME_LOST (ap-northeast-1a) since 2026-12-01 09:30 UTC: vol-0123456789abcdef0", "open_issues=1")

	h.Set(issue("RESOLVED"))
	expect(t, run(t, f), check.Warning, "its resources have recovered")

	note := awsfake.HealthEvent{ARN: "arn:aws:health:global::event/IAM/AWS_IAM_NOTIFICATION/X", Service: "IAM", TypeCode: "AWS_IAM_OPERATIONAL_NOTIFICATION",
		Category: "accountNotification", Region: "global", Status: "open", Start: time.Now().Add(-time.Hour)}
	public := awsfake.HealthEvent{ARN: "arn:aws:health:ap-northeast-1::event/LAMBDA/AWS_LAMBDA_OPERATIONAL_ISSUE/P", Service: "LAMBDA",
		TypeCode: "AWS_LAMBDA_OPERATIONAL_ISSUE", Category: "issue", Region: awsfake.Region, Status: "open", Scope: "PUBLIC", Start: time.Now().Add(-time.Hour)}
	h.Set(note, public)
	r := run(t, f)
	expect(t, r, check.Warning, "account notification IAM AWS_IAM_OPERATIONAL_NOTIFICATION (global)", "public open issue LAMBDA")
	if f.Calls("health", "DescribeAffectedEntities") != 3 {
		t.Fatalf("entities asked %d times; public events have none to ask for", f.Calls("health", "DescribeAffectedEntities"))
	}
	expect(t, run(t, f, func(s *awshealthcheck.Spec) { s.Public = false }), check.Warning, "account notification")
	h.Set(public)
	expect(t, run(t, f, func(s *awshealthcheck.Spec) { s.Public = false }), check.OK)

	// The worst comes first.
	h.Set(note, reboot(time.Now().Add(48*time.Hour), "i-0aaaaaaaaaaaaaaa1"), issue("IMPAIRED"))
	r = run(t, f)
	expect(t, r, check.Critical, "notifications=1")
	if !strings.HasPrefix(r.Output, "AWS_HEALTH CRITICAL - open issue EBS") {
		t.Fatalf("the issue is not first: %q", r.Output)
	}
}

func TestFilters(t *testing.T) {
	f, _ := svctest.Fake(t)
	h := awsfake.NewHealth(f)
	other := reboot(time.Now().Add(time.Hour), "i-0ccccccccccccccc3")
	other.ARN += "-2"
	h.Set(issue("IMPAIRED"), reboot(time.Now().Add(time.Hour), "i-0aaaaaaaaaaaaaaa1"), other)
	r := run(t, f, func(s *awshealthcheck.Spec) {
		s.Services, s.Regions, s.Categories = []string{"EC2"}, []string{awsfake.Region, "global"}, []string{"scheduledChange"}
	})
	expect(t, r, check.Warning, "i-0aaaaaaaaaaaaaaa1", "i-0ccccccccccccccc3")
	fl := h.Filters()[0]
	if fmt.Sprint(fl["services"], fl["regions"], fl["eventTypeCategories"]) != "[EC2] [ap-northeast-1 global] [scheduledChange]" {
		t.Fatalf("filter %v", fl)
	}
	r = run(t, f, func(s *awshealthcheck.Spec) { s.Entities = []string{"i-0ccccccccccccccc3"} })
	expect(t, r, check.Warning, "i-0ccccccccccccccc3")
	if strings.Contains(r.Output, "i-0aaaaaaaaaaaaaaa1") || strings.Contains(r.Output, "EBS") {
		t.Fatalf("events of other resources reported: %q", r.Output)
	}

	bad := spec(f, func(s *awshealthcheck.Spec) {
		s.Services, s.Regions, s.Categories = []string{"ec2"}, []string{"tokyo"}, []string{"outage"}
	})
	if errs := bad.Validate(); len(errs) != 3 {
		t.Fatalf("validation %v", errs)
	}
}

func TestPages(t *testing.T) {
	f, _ := svctest.Fake(t)
	h := awsfake.NewHealth(f)
	h.PageSize(4)
	var evs []awsfake.HealthEvent
	for i := range 12 {
		e := reboot(time.Now().Add(time.Duration(i+1)*time.Hour), fmt.Sprintf("i-0%016d", i))
		e.ARN = fmt.Sprintf("%s-%d", rebootARN, i)
		evs = append(evs, e)
	}
	h.Set(evs...)
	r := run(t, f)
	expect(t, r, check.Warning, "scheduled_changes=12", "(+9 more)")
	if n := f.Calls("health", "DescribeEvents"); n != 3 {
		t.Fatalf("DescribeEvents called %d times for 3 pages", n)
	}
	// 12 events: a call for 10 (3 pages of 4) and one for 2.
	if n := f.Calls("health", "DescribeAffectedEntities"); n != 4 {
		t.Fatalf("DescribeAffectedEntities called %d times, want 4", n)
	}
}

func TestAccessDenied(t *testing.T) {
	f, _ := svctest.Fake(t)
	h := awsfake.NewHealth(f)
	f.Fail("health", "DescribeEvents", awsfake.AccessDenied("health:DescribeEvents"))
	expect(t, run(t, f), check.Unknown, "access denied: the credentials lack the IAM permission health:DescribeEvents (AccessDeniedException)")
	if n := f.Calls("health", "DescribeEvents"); n != 1 {
		t.Fatalf("access denied was retried: %d calls", n)
	}
	h.Set(issue("IMPAIRED"))
	f.Fail("health", "DescribeAffectedEntities", awsfake.AccessDenied("health:DescribeAffectedEntities"))
	expect(t, run(t, f), check.Unknown, "health:DescribeAffectedEntities")
}

func TestThrottledThenOK(t *testing.T) {
	f, _ := svctest.Fake(t)
	awsfake.NewHealth(f)
	f.Fail("health", "DescribeEvents", awsfake.Throttle(), awsfake.Throttle())
	env := svctest.NewEnv()
	expect(t, svctest.Check(t, env, "aws_health", spec(f)), check.OK)
	if n := f.Calls("health", "DescribeEvents"); n != 3 {
		t.Fatalf("DescribeEvents %d requests, want 3 (2 throttled, retried)", n)
	}
	hub := awscheck.HubOf(env)
	reg := prometheus.NewRegistry()
	reg.MustRegister(hub.Collectors()...)
	want := `
# HELP mamori_aws_api_throttled_total AWS API requests answered with throttling (retried with backoff while attempts remain).
# TYPE mamori_aws_api_throttled_total counter
mamori_aws_api_throttled_total{account="(environment)",operation="DescribeEvents",service="Health"} 2
# HELP mamori_aws_api_calls_total AWS API operations by account, service, operation and outcome (ok, throttled, access_denied, error), retries not counted.
# TYPE mamori_aws_api_calls_total counter
mamori_aws_api_calls_total{account="(environment)",operation="DescribeEvents",outcome="ok",service="Health"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "mamori_aws_api_throttled_total", "mamori_aws_api_calls_total"); err != nil {
		t.Fatal(err)
	}

	f.Fail("health", "DescribeEvents", awsfake.Throttle(), awsfake.Throttle(), awsfake.Throttle(), awsfake.Throttle(), awsfake.Throttle())
	expect(t, run(t, f), check.Unknown, "throttled by AWS on health:DescribeEvents after 5 attempts")
}

func TestSubscriptionRequired(t *testing.T) {
	f, _ := svctest.Fake(t)
	awsfake.NewHealth(f)
	f.Fail("health", "DescribeEvents", awsfake.SubscriptionRequired())
	expect(t, run(t, f), check.Unknown, "needs a Business, Enterprise On-Ramp or Enterprise support plan", "SubscriptionRequiredException")
}

// TestAccountCredentials: an account's assumed role signs the Health calls
// (for us-east-1, whatever the account's region), and a wrong secret is
// refused by the fake's signature check.
func TestAccountCredentials(t *testing.T) {
	f, _ := svctest.Fake(t)
	h := awsfake.NewHealth(f)
	h.Set(issue("IMPAIRED"))
	const role = "arn:aws:iam::210987654321:role/mamori-readonly"
	f.AddRole(role, "acme-ext")
	acct := cloud.AWSAccount{Name: "acme", Regions: []string{awsfake.Region}, EndpointURL: f.URL, RoleARN: role,
		AccessKeyID: check.NewSecret(awsfake.AccessKey), SecretAccessKey: check.NewSecret(awsfake.SecretKey), ExternalID: check.NewSecret("acme-ext")}
	wrong := acct
	wrong.Name, wrong.RoleARN, wrong.SecretAccessKey = "wrong", "", check.NewSecret("not-the-secret")
	m := check.SharedMap{}
	awscheck.Share(m, cloudaws.NewHub([]cloud.AWSAccount{acct, wrong}))
	env := check.Env{Shared: m}
	s := &awshealthcheck.Spec{Public: true}
	s.Account = "acme"
	expect(t, svctest.Check(t, env, "aws_health", s), check.Critical, "vol-0123456789abcdef0")
	if f.Assumed(role) != 1 || f.CallsBy(awsfake.AccessKey) != 1 {
		t.Fatalf("role assumed %d times, %d calls with the base key", f.Assumed(role), f.CallsBy(awsfake.AccessKey))
	}
	s.Account = "wrong"
	expect(t, svctest.Check(t, env, "aws_health", s), check.Unknown, "credentials rejected")
}

func TestGlobalEndpoint(t *testing.T) {
	for region, want := range map[string]string{
		"ap-northeast-1": "https://health.us-east-1.amazonaws.com us-east-1",
		"":               "https://health.us-east-1.amazonaws.com us-east-1",
		"cn-north-1":     "https://health.cn-northwest-1.amazonaws.com.cn cn-northwest-1",
		"us-gov-east-1":  "https://health.us-gov-west-1.amazonaws.com us-gov-west-1",
	} {
		e, r := awshealthcheck.GlobalEndpoint(region)
		if e+" "+r != want {
			t.Errorf("%q: %s %s", region, e, r)
		}
	}
}
