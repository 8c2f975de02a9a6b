package ec2check

import (
	"context"
	"fmt"
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

func TestAWSBackup(t *testing.T) {
	f, e, env := setup(t)
	b := awsfake.NewBackup(f)
	e.Put(awsfake.Instance{ID: id, Volumes: []string{"vol-1"}})
	arn := InstanceARN(awsfake.Region, "123456789012", id)
	mod := func(s *Spec) {
		s.BackupSource, s.BackupMaxAge, s.BackupCriticalAge = BackupAWSBackup, 26*time.Hour, 50*time.Hour
	}
	now := time.Now()
	expect := func(st check.Status, want string) {
		t.Helper()
		r := run(t, env, mod)
		if r.Status != st || !strings.Contains(r.Output, want) {
			t.Fatalf("got %v %q, want %v containing %q", r.Status, r.Output, st, want)
		}
	}
	expect(check.Critical, "backup: no completed AWS Backup job since")
	q := b.Queries()[0]
	if q["resourceArn"][0] != arn || len(q["createdAfter"]) != 1 {
		t.Fatalf("query %v", q)
	}
	job := func(n int, state string, created time.Duration, msg string) awsfake.BackupJob {
		j := awsfake.BackupJob{ID: fmt.Sprintf("job-%d", n), ResourceARN: arn, State: state, Created: now.Add(-created), Message: msg}
		if state == "COMPLETED" {
			j.Completed = j.Created.Add(10 * time.Minute)
		}
		return j
	}
	b.Add(job(1, "COMPLETED", 30*time.Hour, ""))
	expect(check.Warning, "last completed AWS Backup job 29h50m0s old")
	b.Add(job(2, "COMPLETED", 3*time.Hour, ""))
	// Another instance's failure is not this one's.
	other := job(9, "FAILED", time.Hour, "")
	other.ResourceARN = InstanceARN(awsfake.Region, "123456789012", "i-0ffffffffffffffff")
	b.Add(other)
	expect(check.OK, "backup: last completed AWS Backup job 2h50m0s old")
	b.Add(job(3, "FAILED", 2*time.Hour, "Insufficient privileges to perform this action."), job(4, "RUNNING", time.Minute, ""))
	expect(check.Critical, "backup: latest AWS Backup job job-3 FAILED (created ")
	expect(check.Critical, "Insufficient privileges")
	b.Add(job(5, "PARTIAL", 50*time.Minute, "1 of 2 volumes"))
	expect(check.Warning, "job-5 PARTIAL")
	b.Add(job(6, "EXPIRED", 40*time.Minute, "the backup window closed"))
	expect(check.Critical, "job-6 EXPIRED")
	b.Add(job(7, "COMPLETED", 30*time.Minute, ""))
	expect(check.OK, "last completed AWS Backup job 20m0s old")

	b.PageSize(2)
	f.ResetCalls()
	expect(check.OK, "20m0s old")
	if n := f.Calls("backup", "ListBackupJobs"); n != 4 {
		t.Fatalf("ListBackupJobs %d calls for 7 jobs in pages of 2", n)
	}
	b.PageSize(0)

	f.Fail("backup", "ListBackupJobs", awsfake.Throttle(), awsfake.Throttle())
	f.ResetCalls()
	expect(check.OK, "20m0s old")
	if n := f.Calls("backup", "ListBackupJobs"); n != 3 {
		t.Fatalf("throttled calls not retried: %d", n)
	}
	f.Fail("backup", "ListBackupJobs", awsfake.AccessDenied("backup:ListBackupJobs"))
	expect(check.Unknown, "access denied: the credentials lack the IAM permission backup:ListBackupJobs")
}

func TestBackupCriticalAgeAndValidation(t *testing.T) {
	_, e, env := setup(t)
	e.Put(awsfake.Instance{ID: id, Volumes: []string{"vol-1"}})
	e.AddSnapshot(awsfake.Snapshot{ID: "snap-old", Volume: "vol-1", State: "completed", Start: time.Now().Add(-60 * time.Hour)})
	r := run(t, env, func(s *Spec) { s.BackupMaxAge, s.BackupCriticalAge = 26*time.Hour, 50*time.Hour })
	if r.Status != check.Critical || !strings.Contains(r.Output, "older than 50h0m0s") {
		t.Fatalf("old snapshot past the critical age: %v %q", r.Status, r.Output)
	}
	bad := &Spec{InstanceID: id, BackupSource: "tape", BackupMaxAge: 50 * time.Hour, BackupCriticalAge: 26 * time.Hour}
	if errs := bad.Validate(); len(errs) != 2 {
		t.Fatalf("validation: %v", errs)
	}
}
