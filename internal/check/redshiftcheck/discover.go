package redshiftcheck

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshift"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

func init() {
	awscheck.RegisterDiscoverer(&awscheck.Discoverer{Service: "redshift", Discover: discover, IAM: []string{"redshift:DescribeClusters"}})
}

// discover proposes per cluster the aws_redshift check and its disk and
// CPU metrics.
func discover(ctx context.Context, h *cloudaws.Hub, ref cloudaws.Ref, tags map[string]string) ([]awscheck.Resource, error) {
	api, err := cloudaws.Client(ctx, h, ref, "redshift", newRedshift)
	if err != nil {
		return nil, err
	}
	var out []awscheck.Resource
	p := redshift.NewDescribeClustersPaginator(api, &redshift.DescribeClustersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, c := range page.Clusters {
			have := map[string]string{}
			for _, t := range c.Tags {
				have[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			if !awssvc.HasTags(have, tags) {
				continue
			}
			id := aws.ToString(c.ClusterIdentifier)
			checks := []awscheck.Proposal{awssvc.Proposal("redshift-"+id, "aws_redshift", "cluster status, node failure and maintenance events", awssvc.KV("cluster", id))}
			out = append(out, awscheck.Resource{ID: id, Name: id, Checks: awssvc.WithTemplates(checks, "redshift", "redshift-"+id, id, nil)})
		}
	}
	return out, nil
}
