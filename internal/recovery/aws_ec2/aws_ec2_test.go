package aws_ec2

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awscheck/awsfake"
	"github.com/mamori/mamori/internal/cloud"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
	"github.com/mamori/mamori/internal/recovery/action"
)

const id = "i-0123456789abcdef0"

func run(t *testing.T, s *Spec, env action.Env, tg action.Target) action.Result {
	t.Helper()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	a, err := s.New(env)
	if err != nil {
		t.Fatal(err)
	}
	if tg.Timeout == 0 {
		tg.Timeout = time.Minute
	}
	return a.Run(context.Background(), tg)
}

// TestRebootWithAssumedRoleWaitsForStatusChecks: the account's role is
// assumed (with its external id), the reboot goes through the SDK, and the
// action returns once both status checks pass.
func TestRebootWithAssumedRoleWaitsForStatusChecks(t *testing.T) {
	f := awsfake.New(t)
	f.Env(t)
	e := awsfake.NewEC2(f)
	const arn = "arn:aws:iam::210987654321:role/mamori-recovery"
	f.AddRole(arn, "acme-ext")
	hub := cloudaws.NewHub([]cloud.AWSAccount{{Name: "acme", Regions: []string{awsfake.Region}, EndpointURL: f.URL, RoleARN: arn,
		ExternalID: check.NewSecret("acme-ext")}})
	shared := check.SharedMap{}
	awscheck.Share(shared, hub)
	polls := 0
	e.Put(awsfake.Instance{ID: id, Status: "impaired", Recovers: func(i *awsfake.Instance) { i.Status = "initializing" }})
	f.Handle("ec2", "DescribeInstanceStatus", func(r *awsfake.Request) (any, error) {
		if polls++; polls == 2 {
			e.Update(id, func(i *awsfake.Instance) { i.Status = "ok" }) // the reboot took
		}
		i := e.Get(id)
		return awsfake.XML(`<instanceStatusSet><item><instanceId>` + id + `</instanceId><instanceState><code>16</code><name>running</name></instanceState>` +
			`<systemStatus><status>ok</status></systemStatus><instanceStatus><status>` + i.Status + `</status></instanceStatus></item></instanceStatusSet>`), nil
	})
	s := &Spec{InstanceID: id, Operation: "reboot", Wait: time.Minute}
	s.Account = "acme"
	res := run(t, s, action.Env{Shared: shared, Poll: 10 * time.Millisecond}, action.Target{})
	if !res.OK() || !strings.Contains(res.Output, "RebootInstances "+id+" accepted; status checks ok") {
		t.Fatalf("%+v", res)
	}
	if e.Get(id).Reboots != 1 || f.Assumed(arn) != 1 || f.CallsBy(awsfake.AccessKey) != 1 {
		t.Fatalf("reboots %d, assumed %d, calls with base keys %d", e.Get(id).Reboots, f.Assumed(arn), f.CallsBy(awsfake.AccessKey))
	}
}

func TestStopStartAndErrors(t *testing.T) {
	f := awsfake.New(t)
	f.Env(t)
	e := awsfake.NewEC2(f)
	e.Put(awsfake.Instance{ID: id, System: "impaired"})
	s := &Spec{InstanceID: id, Operation: "stop-start", Wait: time.Minute,
		AccessKeyID: check.NewSecret(awsfake.AccessKey), SecretAccessKey: check.NewSecret(awsfake.SecretKey)}
	s.Region, s.EndpointURL = awsfake.Region, f.URL
	res := run(t, s, action.Env{Poll: 10 * time.Millisecond}, action.Target{})
	if got := e.Get(id); !res.OK() || got.Stops != 1 || got.Starts != 1 || got.System != "ok" {
		t.Fatalf("%+v %+v", res, got)
	}
	f.Fail("ec2", "RebootInstances", &awsfake.Error{Status: 403, Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."})
	s.Operation = "reboot"
	if res := run(t, s, action.Env{}, action.Target{}); res.OK() || !strings.Contains(res.Error, "ec2:RebootInstances") {
		t.Fatalf("access denied: %+v", res)
	}
	if res := run(t, s, action.Env{}, action.Target{DryRun: true}); !res.DryRun || !strings.Contains(res.Output, "reboot "+id) || e.Get(id).Reboots != 0 {
		t.Fatalf("dry run: %+v", res)
	}
	bad := &Spec{InstanceID: "bad", Operation: "explode", AccessKeyID: check.NewSecret("x")}
	if errs := bad.Validate(); len(errs) != 3 {
		t.Fatalf("validate: %v", errs)
	}
}
