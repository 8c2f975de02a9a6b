package cloudwatchcheck

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awscheck/awsfake"
	"github.com/mamori/mamori/internal/cloud"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

type quickBackoff struct{}

func (quickBackoff) BackoffDelay(int, error) (time.Duration, error) { return time.Millisecond, nil }

// setup starts a fake with CloudWatch and a server-like Env whose hub has
// the account "prod" pointing at it.
func setup(t testing.TB) (*awsfake.Server, *awsfake.CloudWatch, check.Env, *cloudaws.Hub) {
	t.Helper()
	f := awsfake.New(t)
	f.Env(t)
	cw := awsfake.NewCloudWatch(f)
	hub := cloudaws.NewHub([]cloud.AWSAccount{{Name: "prod", Regions: []string{awsfake.Region}, EndpointURL: f.URL,
		AccessKeyID: check.NewSecret(awsfake.AccessKey), SecretAccessKey: check.NewSecret(awsfake.SecretKey)}},
		cloudaws.WithBackoff(quickBackoff{}))
	shared := check.SharedMap{}
	awscheck.Share(shared, hub)
	return f, cw, check.Env{Shared: shared}, hub
}

func spec(instance string, warn, crit string) *Spec {
	k, _ := check.Lookup("cloudwatch")
	s := k.New().(*Spec)
	s.Account = "prod"
	s.Namespace, s.Metric = "AWS/EC2", "CPUUtilization"
	s.Dimensions = map[string]string{"InstanceId": instance}
	s.Warning, _ = check.ParseRange(warn)
	s.Critical, _ = check.ParseRange(crit)
	return s
}

func run(t testing.TB, env check.Env, s *Spec) check.Result {
	t.Helper()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	c, err := s.New(env)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := check.Lookup("cloudwatch")
	return check.Run(context.Background(), k, c, 0)
}

func TestThresholds(t *testing.T) {
	_, cw, env, _ := setup(t)
	dims := func(id string) map[string]string { return map[string]string{"InstanceId": id} }
	cw.Set("AWS/EC2", "CPUUtilization", dims("i-ok"), "Average", 5*time.Minute, 42.5)
	cw.Set("AWS/EC2", "CPUUtilization", dims("i-warn"), "Average", 5*time.Minute, 85)
	cw.Set("AWS/EC2", "CPUUtilization", dims("i-crit"), "Average", 5*time.Minute, 97.25)
	for _, c := range []struct {
		id   string
		want check.Status
		out  string
	}{
		{"i-ok", check.OK, "CLOUDWATCH OK - AWS/EC2 CPUUtilization{InstanceId=i-ok} Average 5m = 42.5 at "},
		{"i-warn", check.Warning, "= 85 at"},
		{"i-crit", check.Critical, "= 97.25 at"},
		{"i-none", check.Unknown, "no datapoint in the last 15m"},
	} {
		r := run(t, env, spec(c.id, "80", "90"))
		if r.Status != c.want || !strings.Contains(r.Output, c.out) {
			t.Errorf("%s: %v %q", c.id, r.Status, r.Output)
		}
		if c.want != check.Unknown && (len(r.Perf) != 1 || r.Perf[0].Warn != 80 || r.Perf[0].Crit != 90) {
			t.Errorf("%s: perfdata %+v", c.id, r.Perf)
		}
	}
}

func TestAPIErrors(t *testing.T) {
	f, _, env, _ := setup(t)
	f.Fail("monitoring", "GetMetricData", awsfake.AccessDenied("cloudwatch:GetMetricData"))
	r := run(t, env, spec("i-denied", "80", "90"))
	if r.Status != check.Unknown || !strings.Contains(r.Output, "cloudwatch:GetMetricData") || !strings.Contains(r.Output, "access denied") {
		t.Fatalf("access denied: %v %q", r.Status, r.Output)
	}

	f2, cw2, env2, _ := setup(t)
	cw2.Set("AWS/EC2", "CPUUtilization", map[string]string{"InstanceId": "i-t"}, "Average", 5*time.Minute, 10)
	f2.Fail("monitoring", "GetMetricData", awsfake.Throttle(), awsfake.Throttle())
	if r := run(t, env2, spec("i-t", "80", "90")); r.Status != check.OK {
		t.Fatalf("throttling not retried: %v %q", r.Status, r.Output)
	}
	if n := f2.Calls("monitoring", "GetMetricData"); n != 3 {
		t.Fatalf("%d calls, want 3 (2 throttled + 1)", n)
	}

	_, _, env3, _ := setup(t)
	s := spec("i-x", "80", "90")
	s.Region = "us-west-2"
	if r := run(t, env3, s); r.Status != check.Unknown || !strings.Contains(r.Output, `region "us-west-2"`) {
		t.Fatalf("wrong region: %v %q", r.Status, r.Output)
	}
}

func TestChecksShareBatchedCalls(t *testing.T) {
	f, cw, env, hub := setup(t)
	const n = 1200
	var checkers []check.Checker
	for i := 0; i < n; i++ {
		id := "i-" + strings.Repeat("0", 3) + itoa(i)
		cw.Set("AWS/EC2", "CPUUtilization", map[string]string{"InstanceId": id}, "Average", 5*time.Minute, float64(i%100))
		c, err := spec(id, "80", "90").New(env)
		if err != nil {
			t.Fatal(err)
		}
		checkers = append(checkers, c)
	}
	var wg sync.WaitGroup
	results := make([]check.Result, n)
	for i, c := range checkers {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = c.Check(context.Background()) }()
	}
	wg.Wait()
	for i, r := range results {
		if r.Status == check.Unknown {
			t.Fatalf("check %d: %q", i, r.Output)
		}
	}
	if got := cw.Batches(); len(got) != 3 || got[0]+got[1]+got[2] != n {
		t.Fatalf("GetMetricData calls %v, want 3 covering %d queries", got, n)
	}
	if f.Calls("monitoring", "GetMetricData") != 3 {
		t.Fatal("calls")
	}
	// Within the period, no further call.
	for _, c := range checkers[:50] {
		c.Check(context.Background())
	}
	if len(cw.Batches()) != 3 {
		t.Fatalf("fresh data refetched: %v", cw.Batches())
	}
	if got := requested(t, hub); got != n {
		t.Fatalf("metrics requested counted %v, want %d", got, n)
	}
}

func requested(t testing.TB, hub *cloudaws.Hub) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(hub.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, mf := range mfs {
		if mf.GetName() == "mamori_aws_metrics_requested_total" {
			for _, m := range mf.Metric {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{digits[i%10]}, b...)
	}
	return string(b)
}

func TestValidate(t *testing.T) {
	s := spec("i-1", "80", "90")
	s.Statistic, s.Period, s.MissingData, s.Region = "Mean", 90*time.Second, "maybe", "tokyo"
	errs := s.Validate()
	fields := map[string]bool{}
	for _, e := range errs {
		fields[e.Field] = true
	}
	for _, f := range []string{"statistic", "period", "missing_data", "region"} {
		if !fields[f] {
			t.Errorf("no error for %s in %v", f, errs)
		}
	}
	s = spec("i-1", "80", "90")
	s.Statistic, s.Period = "p99.9", 10*time.Second
	if errs := s.Validate(); len(errs) != 0 {
		t.Fatal(errs)
	}
}
