package rdscheck

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

func init() {
	awscheck.RegisterDiscoverer(&awscheck.Discoverer{Service: "rds", Discover: discover,
		IAM: []string{"rds:DescribeDBClusters", "rds:DescribeDBInstances"}})
}

// discover proposes, per Aurora cluster and per stand-alone DB instance,
// the aws_rds check (status, events, maintenance), and per instance its
// connections and CPU.
func discover(ctx context.Context, h *cloudaws.Hub, ref cloudaws.Ref, tags map[string]string) ([]awscheck.Resource, error) {
	api, err := cloudaws.Client(ctx, h, ref, "rds", newRDS)
	if err != nil {
		return nil, err
	}
	var out []awscheck.Resource
	cp := rds.NewDescribeDBClustersPaginator(api, &rds.DescribeDBClustersInput{})
	for cp.HasMorePages() {
		page, err := cp.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, c := range page.DBClusters {
			id := aws.ToString(c.DBClusterIdentifier)
			if !awssvc.HasTags(tagMap(c.TagList), tags) {
				continue
			}
			out = append(out, awscheck.Resource{ID: id, Name: id, Checks: []awscheck.Proposal{
				awssvc.Proposal("rds-"+id, "aws_rds", "cluster status, failover events, pending maintenance", awssvc.KV("cluster", id))}})
		}
	}
	ip := rds.NewDescribeDBInstancesPaginator(api, &rds.DescribeDBInstancesInput{})
	for ip.HasMorePages() {
		page, err := ip.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, i := range page.DBInstances {
			id := aws.ToString(i.DBInstanceIdentifier)
			if !awssvc.HasTags(tagMap(i.TagList), tags) {
				continue
			}
			var checks []awscheck.Proposal
			if aws.ToString(i.DBClusterIdentifier) == "" {
				checks = append(checks, awssvc.Proposal("rds-"+id, "aws_rds", "instance status, events, pending maintenance", awssvc.KV("instance", id)))
			}
			out = append(out, awscheck.Resource{ID: id, Name: id, Checks: awssvc.WithTemplates(checks, "rds", "rds-"+id, id, nil)})
		}
	}
	return out, nil
}

func tagMap(tags []types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}
