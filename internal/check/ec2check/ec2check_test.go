package ec2check

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
)

type quickBackoff struct{}

func (quickBackoff) BackoffDelay(int, error) (time.Duration, error) { return time.Millisecond, nil }

func setup(t *testing.T) (*awsfake.Server, *awsfake.EC2, check.Env) {
	t.Helper()
	f := awsfake.New(t)
	f.Env(t)
	e := awsfake.NewEC2(f)
	hub := cloudaws.NewHub([]cloud.AWSAccount{{Name: "prod", Regions: []string{awsfake.Region}, EndpointURL: f.URL,
		AccessKeyID: check.NewSecret(awsfake.AccessKey), SecretAccessKey: check.NewSecret(awsfake.SecretKey)}},
		cloudaws.WithBackoff(quickBackoff{}))
	shared := check.SharedMap{}
	awscheck.Share(shared, hub)
	return f, e, check.Env{Shared: shared}
}

func run(t *testing.T, env check.Env, mod func(*Spec)) check.Result {
	t.Helper()
	s := &Spec{InstanceID: "i-0123456789abcdef0"}
	s.Account = "prod"
	if mod != nil {
		mod(s)
	}
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	c, err := s.New(env)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := check.Lookup("aws_ec2")
	r := check.Run(context.Background(), k, c, 0)
	t.Logf("%s | %s", r.Output, check.PerfString(r.Perf))
	return r
}

const id = "i-0123456789abcdef0"

func TestStates(t *testing.T) {
	_, e, env := setup(t)
	soon := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Hour)
	for _, c := range []struct {
		name string
		inst awsfake.Instance
		want check.Status
		out  string
	}{
		{"ok", awsfake.Instance{ID: id}, check.OK, "AWS_EC2 OK - " + id + " running, system status ok, instance status ok"},
		{"system impaired", awsfake.Instance{ID: id, System: "impaired"}, check.Critical, "system status check impaired (reachability failed)"},
		{"instance impaired", awsfake.Instance{ID: id, Status: "impaired"}, check.Critical, "instance status check impaired"},
		{"stopped", awsfake.Instance{ID: id, State: "stopped"}, check.Critical, id + " is stopped"},
		{"terminated", awsfake.Instance{ID: id, State: "terminated"}, check.Critical, id + " is terminated"},
		{"event", awsfake.Instance{ID: id, Events: []awsfake.Event{{ID: "instance-event-0a", Code: "system-reboot",
			Description: "scheduled reboot", NotBefore: soon, NotAfter: soon.Add(2 * time.Hour)}}},
			check.Warning, "scheduled system-reboot at " + soon.Format("2006-01-02 15:04 UTC")},
		{"completed event", awsfake.Instance{ID: id, Events: []awsfake.Event{{ID: "instance-event-0b", Code: "system-reboot",
			Description: "[Completed] scheduled reboot", NotBefore: soon, NotAfter: soon}}}, check.OK, "running"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.Put(c.inst)
			r := run(t, env, nil)
			if r.Status != c.want || !strings.Contains(r.Output, c.out) {
				t.Fatalf("got %v %q, want %v containing %q", r.Status, r.Output, c.want, c.out)
			}
		})
	}
	// An event further away than event_within is not yet a warning.
	e.Put(awsfake.Instance{ID: id, Events: []awsfake.Event{{ID: "e", Code: "instance-retirement", Description: "retire", NotBefore: soon, NotAfter: soon}}})
	if r := run(t, env, func(s *Spec) { s.EventWithin = 24 * time.Hour }); r.Status != check.OK {
		t.Fatalf("event beyond event_within: %v %q", r.Status, r.Output)
	}
}

func TestBackupAge(t *testing.T) {
	_, e, env := setup(t)
	e.Put(awsfake.Instance{ID: id, Volumes: []string{"vol-1", "vol-2"}})
	mod := func(s *Spec) { s.BackupMaxAge = 26 * time.Hour }
	if r := run(t, env, mod); r.Status != check.Warning || !strings.Contains(r.Output, "no completed snapshot") {
		t.Fatalf("no snapshot: %v %q", r.Status, r.Output)
	}
	e.AddSnapshot(awsfake.Snapshot{ID: "snap-old", Volume: "vol-1", State: "completed", Start: time.Now().Add(-50 * time.Hour)})
	if r := run(t, env, mod); r.Status != check.Warning || !strings.Contains(r.Output, "older than 26h") {
		t.Fatalf("old snapshot: %v %q", r.Status, r.Output)
	}
	e.AddSnapshot(awsfake.Snapshot{ID: "snap-new", Volume: "vol-2", State: "completed", Start: time.Now().Add(-3 * time.Hour)})
	e.AddSnapshot(awsfake.Snapshot{ID: "snap-other", Volume: "vol-9", State: "completed", Start: time.Now()})
	if r := run(t, env, mod); r.Status != check.OK || !strings.Contains(r.Output, "backup: newest snapshot 3h0m0s old") {
		t.Fatalf("fresh snapshot: %v %q", r.Status, r.Output)
	}
}

func TestAPIErrors(t *testing.T) {
	f, e, env := setup(t)
	e.Put(awsfake.Instance{ID: id})
	f.Fail("ec2", "DescribeInstanceStatus", &awsfake.Error{Status: 403, Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."})
	if r := run(t, env, nil); r.Status != check.Unknown || !strings.Contains(r.Output, "ec2:DescribeInstanceStatus") {
		t.Fatalf("access denied: %v %q", r.Status, r.Output)
	}
	f.Fail("ec2", "DescribeInstanceStatus", awsfake.Throttle(), awsfake.Throttle())
	if r := run(t, env, nil); r.Status != check.OK {
		t.Fatalf("throttling not retried: %v %q", r.Status, r.Output)
	}
	if r := run(t, env, func(s *Spec) { s.Region = "eu-west-1" }); r.Status != check.Unknown || !strings.Contains(r.Output, `region "eu-west-1"`) {
		t.Fatalf("wrong region: %v %q", r.Status, r.Output)
	}
	if r := run(t, env, func(s *Spec) { s.InstanceID = "i-00000000000000000" }); r.Status != check.Critical || !strings.Contains(r.Output, "not found in prod/ap-northeast-1") {
		t.Fatalf("unknown instance: %v %q", r.Status, r.Output)
	}
}
