package ec2check

import (
	"context"
	"strconv"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

// backup grades the age of the newest completed snapshot of the instance's
// EBS volumes. AWS Backup's EC2 backups are EBS snapshots too.
func (c *checker) backup(ctx context.Context, cl *ec2.Client, ref cloudaws.Ref) check.Result {
	inst, err := cl.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{c.spec.InstanceID}})
	if err != nil {
		return awscheck.ErrorResult(ctx, ref, err)
	}
	var vols []string
	for _, res := range inst.Reservations {
		for _, i := range res.Instances {
			for _, m := range i.BlockDeviceMappings {
				if m.Ebs != nil && m.Ebs.VolumeId != nil {
					vols = append(vols, *m.Ebs.VolumeId)
				}
			}
		}
	}
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
		return check.Resultf(check.Warning, "backup: no completed snapshot of %d volume(s)", len(vols))
	}
	age := time.Since(newest).Truncate(time.Minute)
	r := check.Resultf(check.OK, "backup: newest snapshot %s old", age)
	if age > c.spec.BackupMaxAge {
		r = check.Resultf(check.Warning, "backup: newest snapshot %s old (at %s), older than %s", age, newest.UTC().Format("2006-01-02 15:04 UTC"), c.spec.BackupMaxAge)
	}
	if failed > 0 {
		r.Output += "; snapshots in error state: " + strconv.Itoa(failed)
	}
	r.Perf = []check.Metric{check.Seconds("backup_age", age, c.spec.BackupMaxAge, 0)}
	return r
}
