package elasticachecheck

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

func init() {
	awscheck.RegisterDiscoverer(&awscheck.Discoverer{Service: "elasticache", Discover: discover,
		IAM: []string{"elasticache:DescribeCacheClusters", "elasticache:ListTagsForResource"}})
}

// discover proposes aws_elasticache per replication group (or per
// stand-alone cluster) and the swap and CPU metrics per cache cluster.
func discover(ctx context.Context, h *cloudaws.Hub, ref cloudaws.Ref, tags map[string]string) ([]awscheck.Resource, error) {
	api, err := cloudaws.Client(ctx, h, ref, "elasticache", newElastiCache)
	if err != nil {
		return nil, err
	}
	var out []awscheck.Resource
	groups := map[string]bool{}
	p := elasticache.NewDescribeCacheClustersPaginator(api, &elasticache.DescribeCacheClustersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, c := range page.CacheClusters {
			if len(tags) > 0 {
				t, err := api.ListTagsForResource(ctx, &elasticache.ListTagsForResourceInput{ResourceName: c.ARN})
				if err != nil {
					return nil, err
				}
				have := map[string]string{}
				for _, tg := range t.TagList {
					have[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
				}
				if !awssvc.HasTags(have, tags) {
					continue
				}
			}
			id, rg := aws.ToString(c.CacheClusterId), aws.ToString(c.ReplicationGroupId)
			var checks []awscheck.Proposal
			switch {
			case rg == "":
				checks = append(checks, awssvc.Proposal("elasticache-"+id, "aws_elasticache", "cluster and node status, node failure/recovery events", awssvc.KV("cluster", id)))
			case !groups[rg]:
				groups[rg] = true
				checks = append(checks, awssvc.Proposal("elasticache-"+rg, "aws_elasticache", "group, cluster and node status, failover/recovery events", awssvc.KV("replication_group", rg)))
			}
			out = append(out, awscheck.Resource{ID: id, Name: rg, Checks: awssvc.WithTemplates(checks, "elasticache", "elasticache-"+id, id, nil)})
		}
	}
	return out, nil
}
