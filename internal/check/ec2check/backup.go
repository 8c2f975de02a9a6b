package ec2check

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	btypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

// Backup sources (backup_source).
const (
	BackupSnapshots = "snapshots"  // the newest completed EBS snapshot of the instance's volumes
	BackupAWSBackup = "aws_backup" // the instance's AWS Backup jobs
)

// maxJobPages bounds the AWS Backup job listing.
const maxJobPages = 20

// backup grades the instance's backups from the source the spec names.
func (c *checker) backup(ctx context.Context, cl ec2Client, ref cloudaws.Ref) check.Result {
	inst, err := cl.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{c.spec.InstanceID}})
	if err != nil {
		return awscheck.ErrorResult(ctx, ref, err)
	}
	var vols []string
	owner := ""
	for _, res := range inst.Reservations {
		owner = sdkaws.ToString(res.OwnerId)
		for _, i := range res.Instances {
			for _, m := range i.BlockDeviceMappings {
				if m.Ebs != nil && m.Ebs.VolumeId != nil {
					vols = append(vols, *m.Ebs.VolumeId)
				}
			}
		}
	}
	if c.spec.BackupSource == BackupAWSBackup {
		return c.awsBackup(ctx, InstanceARN(ref.Region, owner, c.spec.InstanceID))
	}
	return c.snapshots(ctx, cl, ref, vols)
}

// InstanceARN is the ARN AWS Backup knows an instance by.
func InstanceARN(region, account, id string) string {
	partition := "aws"
	switch {
	case strings.HasPrefix(region, "cn-"):
		partition = "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		partition = "aws-us-gov"
	}
	return fmt.Sprintf("arn:%s:ec2:%s:%s:instance/%s", partition, region, account, id)
}

// snapshots grades the age of the newest completed snapshot of the
// instance's EBS volumes (AWS Backup's EC2 backups are EBS snapshots too).
func (c *checker) snapshots(ctx context.Context, cl ec2Client, ref cloudaws.Ref, vols []string) check.Result {
	if len(vols) == 0 {
		return check.Resultf(check.Warning, "backup: the instance has no EBS volume to snapshot")
	}
	in := &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, Filters: []types.Filter{{Name: sdkaws.String("volume-id"), Values: vols}}}
	var newest time.Time
	failed := 0
	p := ec2.NewDescribeSnapshotsPaginator(cl, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return awscheck.ErrorResult(ctx, ref, err)
		}
		for _, s := range page.Snapshots {
			switch s.State {
			case types.SnapshotStateCompleted:
				if t := sdkaws.ToTime(s.StartTime); t.After(newest) {
					newest = t
				}
			case types.SnapshotStateError:
				failed++
			}
		}
	}
	if newest.IsZero() {
		return check.Resultf(c.noBackupStatus(), "backup: no completed snapshot of %d volume(s)", len(vols))
	}
	r := c.ageResult("newest snapshot", newest, time.Now())
	if failed > 0 {
		r.Output += "; snapshots in error state: " + strconv.Itoa(failed)
	}
	return r
}

// ageResult grades the age of the newest backup against backup_max_age
// (WARNING) and backup_critical_age (CRITICAL).
func (c *checker) ageResult(what string, newest, now time.Time) check.Result {
	age := now.Sub(newest).Truncate(time.Minute)
	r := check.Resultf(check.OK, "backup: %s %s old", what, age)
	limit, st := time.Duration(0), check.OK
	switch {
	case c.spec.BackupCriticalAge > 0 && age > c.spec.BackupCriticalAge:
		limit, st = c.spec.BackupCriticalAge, check.Critical
	case c.spec.BackupMaxAge > 0 && age > c.spec.BackupMaxAge:
		limit, st = c.spec.BackupMaxAge, check.Warning
	}
	if st != check.OK {
		r = check.Resultf(st, "backup: %s %s old (at %s), older than %s", what, age, newest.UTC().Format("2006-01-02 15:04 UTC"), limit)
	}
	r.Perf = []check.Metric{check.Seconds("backup_age", age, c.spec.BackupMaxAge, c.spec.BackupCriticalAge)}
	return r
}

// noBackupStatus is the status of an instance without any backup to
// grade: CRITICAL when a critical age is set, else WARNING.
func (c *checker) noBackupStatus() check.Status {
	if c.spec.BackupCriticalAge > 0 {
		return check.Critical
	}
	return check.Warning
}

// window is how far back AWS Backup jobs are listed: the longest age
// limit and a day more, so that the job before a late one is seen too.
func (c *checker) window() time.Duration {
	return max(c.spec.BackupMaxAge, c.spec.BackupCriticalAge) + 24*time.Hour
}

// awsBackup grades the instance's AWS Backup jobs: the latest finished job
// failed, expired or aborted is CRITICAL (partial WARNING); the newest
// completed one is graded by age like a snapshot.
func (c *checker) awsBackup(ctx context.Context, arn string) check.Result {
	cl, ref, err := awscheck.Client(ctx, c.hub, &c.spec.Target, "backup", newBackup)
	if err != nil {
		return awscheck.ConfigError(err)
	}
	now := time.Now()
	since := now.Add(-c.window())
	var jobs []btypes.BackupJob
	p := backup.NewListBackupJobsPaginator(cl, &backup.ListBackupJobsInput{ByResourceArn: sdkaws.String(arn), ByCreatedAfter: sdkaws.Time(since)})
	for page := 0; p.HasMorePages(); page++ {
		if page == maxJobPages {
			return check.Resultf(check.Unknown, "backup: more than %d pages of AWS Backup jobs for %s", maxJobPages, arn)
		}
		out, err := p.NextPage(ctx)
		if err != nil {
			return awscheck.ErrorResult(ctx, ref, err)
		}
		jobs = append(jobs, out.BackupJobs...)
	}
	return c.gradeJobs(jobs, since, now)
}

// gradeJobs grades the jobs of one resource (any order).
func (c *checker) gradeJobs(jobs []btypes.BackupJob, since, now time.Time) check.Result {
	sort.SliceStable(jobs, func(i, j int) bool {
		return sdkaws.ToTime(jobs[i].CreationDate).After(sdkaws.ToTime(jobs[j].CreationDate))
	})
	var last *btypes.BackupJob // the latest finished job
	var newest time.Time       // completion of the newest completed job
	for i := range jobs {
		j := &jobs[i]
		switch j.State {
		case btypes.BackupJobStateCreated, btypes.BackupJobStatePending, btypes.BackupJobStateRunning, btypes.BackupJobStateAborting:
			continue
		}
		if last == nil {
			last = j
		}
		if j.State == btypes.BackupJobStateCompleted {
			if t := sdkaws.ToTime(j.CompletionDate); t.After(newest) {
				newest = t
			}
		}
	}
	var r check.Result
	if newest.IsZero() {
		r = check.Resultf(c.noBackupStatus(), "backup: no completed AWS Backup job since %s", since.UTC().Format("2006-01-02 15:04 UTC"))
	} else {
		r = c.ageResult("last completed AWS Backup job", newest, now)
	}
	if last != nil && last.State != btypes.BackupJobStateCompleted {
		st := check.Critical
		if last.State == btypes.BackupJobStatePartial {
			st = check.Warning
		}
		msg := fmt.Sprintf("latest AWS Backup job %s %s (created %s, vault %s)", sdkaws.ToString(last.BackupJobId), last.State,
			sdkaws.ToTime(last.CreationDate).UTC().Format("2006-01-02 15:04 UTC"), sdkaws.ToString(last.BackupVaultName))
		if m := sdkaws.ToString(last.StatusMessage); m != "" {
			msg += ": " + m
		}
		r.Status = check.Worst(r.Status, st)
		r.Output = check.OneLine("backup: " + msg + "; " + strings.TrimPrefix(r.Output, "backup: "))
	}
	return r
}
