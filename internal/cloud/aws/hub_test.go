package aws_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck/awsfake"
	"github.com/mamori/mamori/internal/cloud"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return time.Millisecond, nil }

func staticAccount(name, url string) cloud.AWSAccount {
	return cloud.AWSAccount{Name: name, Regions: []string{awsfake.Region}, EndpointURL: url,
		AccessKeyID: check.NewSecret(awsfake.AccessKey), SecretAccessKey: check.NewSecret(awsfake.SecretKey)}
}

func newHub(t *testing.T, accts ...cloud.AWSAccount) *cloudaws.Hub {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	return cloudaws.NewHub(accts, cloudaws.WithBackoff(noBackoff{}))
}

func stsClient(t *testing.T, h *cloudaws.Hub, ref cloudaws.Ref) *sts.Client {
	t.Helper()
	c, err := cloudaws.Client(context.Background(), h, ref, "sts", func(c sdkaws.Config) *sts.Client { return sts.NewFromConfig(c) })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func counter(t *testing.T, h *cloudaws.Hub, name string, labels ...string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(h.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.Metric {
			got := map[string]string{}
			for _, lp := range m.Label {
				got[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if got[labels[i]] != labels[i+1] {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestStaticKeysSignAndCount(t *testing.T) {
	f := awsfake.New(t)
	h := newHub(t, staticAccount("prod", f.URL))
	c := stsClient(t, h, cloudaws.Ref{Account: "prod"})
	out, err := c.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if sdkaws.ToString(out.Account) != "123456789012" {
		t.Fatalf("account %q", sdkaws.ToString(out.Account))
	}
	if n := counter(t, h, "mamori_aws_api_calls_total", "account", "prod", "service", "STS", "operation", "GetCallerIdentity", "outcome", "ok"); n != 1 {
		t.Fatalf("calls counted %v, want 1", n)
	}
	// The same client is shared.
	if c2 := stsClient(t, h, cloudaws.Ref{Account: "prod"}); c2 != c {
		t.Fatal("a second Client call built a new client")
	}
}

func TestAssumeRoleWithExternalID(t *testing.T) {
	f := awsfake.New(t)
	const arn = "arn:aws:iam::210987654321:role/mamori-readonly"
	f.AddRole(arn, "tenant-acme-7f3")
	a := staticAccount("acme", f.URL)
	a.RoleARN, a.ExternalID = arn, check.NewSecret("tenant-acme-7f3")
	bad := staticAccount("acme-wrong", f.URL)
	bad.RoleARN, bad.ExternalID = arn, check.NewSecret("guess")
	h := newHub(t, a, bad)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := stsClient(t, h, cloudaws.Ref{Account: "acme"}).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.Assumed(arn); n != 1 {
		t.Fatalf("role assumed %d times, want 1 (credentials cached)", n)
	}
	if n := f.CallsBy(awsfake.AccessKey); n != 1 {
		t.Fatalf("%d calls with the base keys, want only the AssumeRole", n)
	}
	_, err := stsClient(t, h, cloudaws.Ref{Account: "acme-wrong"}).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err == nil {
		t.Fatal("a wrong external id was accepted")
	}
	if msg := cloudaws.Explain(err, awsfake.Region); !strings.Contains(msg, "sts:AssumeRole") {
		t.Fatalf("explanation %q does not name sts:AssumeRole", msg)
	}
}

func TestThrottlingRetriedAndCounted(t *testing.T) {
	f := awsfake.New(t)
	h := newHub(t, staticAccount("prod", f.URL))
	f.Fail("sts", "GetCallerIdentity", awsfake.Throttle(), awsfake.Throttle())
	if _, err := stsClient(t, h, cloudaws.Ref{Account: "prod"}).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("throttling was not retried: %v", err)
	}
	labels := []string{"account", "prod", "service", "STS", "operation", "GetCallerIdentity"}
	if n := counter(t, h, "mamori_aws_api_throttled_total", labels...); n != 2 {
		t.Fatalf("throttled %v, want 2", n)
	}
	if n := counter(t, h, "mamori_aws_api_requests_total", labels...); n != 3 {
		t.Fatalf("requests %v, want 3", n)
	}
	// Throttled past the attempts: an error that says so, counted as throttled.
	f.Fail("sts", "GetCallerIdentity", awsfake.Throttle(), awsfake.Throttle(), awsfake.Throttle(), awsfake.Throttle(), awsfake.Throttle())
	_, err := stsClient(t, h, cloudaws.Ref{Account: "prod"}).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if !cloudaws.IsThrottle(err) {
		t.Fatalf("err %v is not throttling", err)
	}
	if msg := cloudaws.Explain(err, awsfake.Region); !strings.Contains(msg, "after 5 attempts") {
		t.Fatalf("explanation %q", msg)
	}
	if n := counter(t, h, "mamori_aws_api_calls_total", append(labels, "outcome", "throttled")...); n != 1 {
		t.Fatalf("throttled calls %v, want 1", n)
	}
}

func TestAccessDeniedNamesIAMActionOverCBOR(t *testing.T) {
	f := awsfake.New(t)
	h := newHub(t, staticAccount("prod", f.URL))
	f.Fail("monitoring", "GetMetricData", awsfake.AccessDenied("cloudwatch:GetMetricData"))
	cw, err := cloudaws.Client(context.Background(), h, cloudaws.Ref{Account: "prod"}, "cloudwatch", func(c sdkaws.Config) *cloudwatch.Client { return cloudwatch.NewFromConfig(c) })
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	_, err = cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{StartTime: sdkaws.Time(now.Add(-time.Hour)), EndTime: sdkaws.Time(now),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: sdkaws.String("q1"), Expression: sdkaws.String("SELECT AVG(CPUUtilization) FROM \"AWS/EC2\"")}}})
	if !cloudaws.IsAccessDenied(err) {
		t.Fatalf("err %v is not access denied", err)
	}
	if got := cloudaws.IAMAction(err); got != "cloudwatch:GetMetricData" {
		t.Fatalf("IAM action %q", got)
	}
	if f.Calls("monitoring", "GetMetricData") != 1 {
		t.Fatal("access denied was retried")
	}
}

func TestWrongRegionAndUnknownAccount(t *testing.T) {
	f := awsfake.New(t)
	h := newHub(t, staticAccount("prod", f.URL))
	_, err := stsClient(t, h, cloudaws.Ref{Account: "prod", Region: "us-west-2"}).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if !cloudaws.IsWrongRegion(err) || cloudaws.IsCredentialError(err) {
		t.Fatalf("err %v: not recognised as a wrong region", err)
	}
	if msg := cloudaws.Explain(err, "us-west-2"); !strings.Contains(msg, `region "us-west-2"`) {
		t.Fatalf("explanation %q", msg)
	}
	if _, err := h.Config(context.Background(), cloudaws.Ref{Account: "nope"}); !errors.Is(err, cloudaws.ErrUnknownAccount) {
		t.Fatalf("unknown account: %v", err)
	}
}

func TestEnvironmentCredentials(t *testing.T) {
	f := awsfake.New(t)
	f.Env(t)
	h := cloudaws.NewHub(nil)
	c := stsClient(t, h, cloudaws.Ref{EndpointURL: f.URL})
	if _, err := c.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	ref, err := h.Resolve(context.Background(), cloudaws.Ref{})
	if err != nil || ref.Region != awsfake.Region {
		t.Fatalf("region from AWS_REGION: %+v %v", ref, err)
	}
}

func TestReloadKeepsUnchangedAccounts(t *testing.T) {
	f := awsfake.New(t)
	a, b := staticAccount("a", f.URL), staticAccount("b", f.URL)
	h := newHub(t, a, b)
	ca, cb := stsClient(t, h, cloudaws.Ref{Account: "a"}), stsClient(t, h, cloudaws.Ref{Account: "b"})
	b.Regions = []string{"us-east-1"}
	h.SetAccounts([]cloud.AWSAccount{a, b})
	if stsClient(t, h, cloudaws.Ref{Account: "a"}) != ca {
		t.Fatal("an unchanged account lost its client")
	}
	if stsClient(t, h, cloudaws.Ref{Account: "b"}) == cb {
		t.Fatal("a changed account kept its old client")
	}
}

// Two packages asking for the same service's client through types of their
// own get a client each, of their own type (a cache keyed by the service
// only handed one package the other's client: a panic).
func TestClientsOfOneServiceByType(t *testing.T) {
	f := awsfake.New(t)
	h := newHub(t, staticAccount("prod", f.URL))
	type clientA struct{ *sts.Client }
	type clientB struct{ *sts.Client }
	ref := cloudaws.Ref{Account: "prod"}
	a, err := cloudaws.Client(context.Background(), h, ref, "sts", func(c sdkaws.Config) clientA { return clientA{sts.NewFromConfig(c)} })
	if err != nil {
		t.Fatal(err)
	}
	b, err := cloudaws.Client(context.Background(), h, ref, "sts", func(c sdkaws.Config) clientB { return clientB{sts.NewFromConfig(c)} })
	if err != nil {
		t.Fatal(err)
	}
	if a.Client == nil || b.Client == nil {
		t.Fatal("no client")
	}
	if a2, _ := cloudaws.Client(context.Background(), h, ref, "sts", func(c sdkaws.Config) clientA { return clientA{} }); a2 != a {
		t.Fatal("a second Client call of the same type built a new client")
	}
}
