package ec2check

import (
	"context"
	"strings"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mamori/mamori/internal/check/awscheck"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

func init() {
	awscheck.RegisterDiscoverer(&awscheck.Discoverer{Service: "ec2", Discover: discover,
		IAM: []string{"ec2:DescribeInstances"}})
}

// discover proposes, per instance not terminated: status + scheduled
// events (aws_ec2) and CPU (cloudwatch).
func discover(ctx context.Context, h *cloudaws.Hub, ref cloudaws.Ref, tags map[string]string) ([]awscheck.Resource, error) {
	cl, err := cloudaws.Client(ctx, h, ref, "ec2", newEC2)
	if err != nil {
		return nil, err
	}
	in := &ec2.DescribeInstancesInput{}
	for k, v := range tags {
		in.Filters = append(in.Filters, types.Filter{Name: sdkaws.String("tag:" + k), Values: []string{v}})
	}
	var out []awscheck.Resource
	p := ec2.NewDescribeInstancesPaginator(cl, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, res := range page.Reservations {
			for _, i := range res.Instances {
				if i.State != nil && (i.State.Name == types.InstanceStateNameTerminated || i.State.Name == types.InstanceStateNameShuttingDown) {
					continue
				}
				out = append(out, proposals(i))
			}
		}
	}
	return out, nil
}

func proposals(i types.Instance) awscheck.Resource {
	id := sdkaws.ToString(i.InstanceId)
	name := ""
	for _, t := range i.Tags {
		if sdkaws.ToString(t.Key) == "Name" {
			name = sdkaws.ToString(t.Value)
		}
	}
	base := id
	if name != "" {
		base = slug(name)
	}
	return awscheck.Resource{ID: id, Name: name, Checks: []awscheck.Proposal{
		{Name: base + "-ec2", Type: "aws_ec2", Comment: "status checks and scheduled events",
			Fields: []awscheck.KV{{Key: "instance_id", Value: id}}},
		{Name: base + "-cpu", Type: "cloudwatch", Comment: "CPU",
			Fields: []awscheck.KV{{Key: "namespace", Value: "AWS/EC2"}, {Key: "metric", Value: "CPUUtilization"},
				{Key: "dimensions", Value: map[string]string{"InstanceId": id}}, {Key: "statistic", Value: "Average"},
				{Key: "period", Value: "5m"}, {Key: "warning", Value: "80"}, {Key: "critical", Value: "90"}}},
	}}
}

// slug makes a tag value usable in a check name.
func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}
