// Package ec2check is the `aws_ec2` check type: an EC2 instance's state, its
// system and instance status checks, its scheduled events (maintenance
// notices: WARNING naming the event and its date) and, optionally, its
// backups: the age of its latest EBS snapshot (backups by AWS Backup or by
// hand), or its AWS Backup jobs (the latest failed, expired or aborted is
// CRITICAL; none completed recently WARNING or CRITICAL by age).
package ec2check

//go:generate go run ../../tools/sdkwrap -type ec2Client -new newEC2 github.com/aws/aws-sdk-go-v2/service/ec2 DescribeInstanceStatus DescribeInstances DescribeSnapshots
//go:generate go run ../../tools/sdkwrap -o sdk_backup.go -type backupClient -new newBackup github.com/aws/aws-sdk-go-v2/service/backup ListBackupJobs

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

// Spec configures an aws_ec2 check.
type Spec struct {
	awscheck.Target
	InstanceID        string        `yaml:"instance_id" required:"true" help:"the instance (i-0123456789abcdef0)"`
	EventWithin       time.Duration `yaml:"event_within" help:"only scheduled events starting within this are WARNING (default: every pending event)"`
	BackupMaxAge      time.Duration `yaml:"backup_max_age" help:"WARNING when the newest backup (see backup_source) is older than this (e.g. 26h; default: backups not checked)"`
	BackupCriticalAge time.Duration `yaml:"backup_critical_age" help:"CRITICAL when the newest backup is older than this, and when there is none (e.g. 50h; default: age alone is never CRITICAL)"`
	BackupSource      string        `yaml:"backup_source" help:"snapshots: the newest completed EBS snapshot of the instance's volumes; aws_backup: the instance's AWS Backup jobs (the latest failed, expired or aborted is CRITICAL)"`
}

var instanceRE = regexp.MustCompile(`^i-[0-9a-f]{8,17}$`)

func init() {
	check.Register(&check.Kind{Name: "aws_ec2", Label: "AWS_EC2", Timeout: 30 * time.Second,
		Summary: "EC2 instance state, status checks, scheduled events and backups (EBS snapshot age or AWS Backup jobs)",
		New:     func() check.Spec { return &Spec{BackupSource: BackupSnapshots} }})
}

// Validate implements check.Spec.
func (s *Spec) Validate() []check.FieldError {
	errs := s.Target.Validate()
	if s.InstanceID != "" && !instanceRE.MatchString(s.InstanceID) {
		errs = append(errs, check.Errf("instance_id", "%q is not an instance id (i-0123456789abcdef0)", s.InstanceID))
	}
	switch s.BackupSource {
	case "", BackupSnapshots, BackupAWSBackup:
	default:
		errs = append(errs, check.Errf("backup_source", "%q is not %s or %s", s.BackupSource, BackupSnapshots, BackupAWSBackup))
	}
	if s.BackupMaxAge < 0 || s.BackupCriticalAge < 0 {
		errs = append(errs, check.Errf("backup_max_age", "backup ages must not be negative"))
	}
	if s.BackupMaxAge > 0 && s.BackupCriticalAge > 0 && s.BackupCriticalAge < s.BackupMaxAge {
		errs = append(errs, check.Errf("backup_critical_age", "%s is shorter than backup_max_age %s", s.BackupCriticalAge, s.BackupMaxAge))
	}
	return errs
}

// New implements check.Spec.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	return &checker{spec: *s, hub: awscheck.HubOf(env)}, nil
}

type checker struct {
	spec Spec
	hub  *cloudaws.Hub
}

func (c *checker) Check(ctx context.Context) check.Result {
	cl, ref, err := awscheck.Client(ctx, c.hub, &c.spec.Target, "ec2", newEC2)
	if err != nil {
		return awscheck.ConfigError(err)
	}
	id := c.spec.InstanceID
	out, err := cl.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{id}, IncludeAllInstances: sdkaws.Bool(true)})
	if err != nil {
		if code := cloudaws.ErrorCode(err); code == "InvalidInstanceID.NotFound" || code == "InvalidInstanceID.Malformed" {
			return check.Resultf(check.Critical, "%s not found in %s (terminated and gone, or the wrong region or account)", id, ref)
		}
		return awscheck.ErrorResult(ctx, ref, err)
	}
	if len(out.InstanceStatuses) == 0 {
		return check.Resultf(check.Critical, "%s not found in %s (terminated and gone, or the wrong region or account)", id, ref)
	}
	r := grade(out.InstanceStatuses[0], c.spec.EventWithin, time.Now())
	if (c.spec.BackupMaxAge > 0 || c.spec.BackupCriticalAge > 0) && r.Status != check.Critical {
		b := c.backup(ctx, cl, ref)
		r = merge(r, b)
	}
	return r
}

// grade reads one instance status: state, both status checks and events.
func grade(st types.InstanceStatus, within time.Duration, now time.Time) check.Result {
	id := sdkaws.ToString(st.InstanceId)
	state := ""
	if st.InstanceState != nil {
		state = string(st.InstanceState.Name)
	}
	switch state {
	case "running":
	case "pending":
		return check.Resultf(check.Warning, "%s is pending (starting)", id)
	default:
		return check.Resultf(check.Critical, "%s is %s", id, state)
	}
	sys, inst := summary(st.SystemStatus), summary(st.InstanceStatus)
	r := check.Resultf(check.OK, "%s running, system status %s, instance status %s", id, sys, inst)
	var bad []string
	if sys == "impaired" {
		bad = append(bad, "system status check impaired"+failed(st.SystemStatus)+" (AWS hardware or network: stop and start moves the instance)")
	}
	if inst == "impaired" {
		bad = append(bad, "instance status check impaired"+failed(st.InstanceStatus)+" (the OS does not answer: reboot)")
	}
	if len(bad) > 0 {
		return check.Resultf(check.Critical, "%s running, %s", id, strings.Join(bad, "; "))
	}
	var pending []string
	for _, ev := range st.Events {
		d := sdkaws.ToString(ev.Description)
		if strings.HasPrefix(d, "[Completed]") || strings.HasPrefix(d, "[Canceled]") {
			continue
		}
		at := sdkaws.ToTime(ev.NotBefore)
		if within > 0 && at.Sub(now) > within {
			continue
		}
		pending = append(pending, fmt.Sprintf("scheduled %s at %s (%s)", ev.Code, at.UTC().Format("2006-01-02 15:04 UTC"), d))
	}
	if len(pending) > 0 {
		r = check.Resultf(check.Warning, "%s running, status ok, %s", id, strings.Join(pending, "; "))
	}
	r.Perf = []check.Metric{check.M("scheduled_events", float64(len(pending)), "")}
	return r
}

func summary(s *types.InstanceStatusSummary) string {
	if s == nil || s.Status == "" {
		return "unknown"
	}
	return string(s.Status)
}

func failed(s *types.InstanceStatusSummary) string {
	var names []string
	for _, d := range s.Details {
		if d.Status == types.StatusTypeFailed {
			n := string(d.Name)
			if d.ImpairedSince != nil {
				n += " since " + d.ImpairedSince.UTC().Format("2006-01-02 15:04 UTC")
			}
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return " (" + strings.Join(names, ", ") + " failed)"
}

func merge(r, b check.Result) check.Result {
	st := check.Worst(r.Status, b.Status)
	out := r.Output + "; " + b.Output
	res := check.Resultf(st, "%s", out)
	res.Perf = append(r.Perf, b.Perf...)
	return res
}
