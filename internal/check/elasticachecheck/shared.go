package elasticachecheck

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

// sharedTTL is how long one listing serves every ElastiCache check of the
// same account and region.
const sharedTTL = 60 * time.Second

// maxPages bounds one listing (100 items a page).
const maxPages = 20

// clusters lists the region's cache clusters with their nodes.
func clusters(ctx context.Context, api API, hub *cloudaws.Hub, ref cloudaws.Ref) ([]types.CacheCluster, error) {
	return awssvc.Describe(ctx, hub, "elasticache-clusters|"+ref.String(), sharedTTL, func(ctx context.Context) ([]types.CacheCluster, error) {
		p := elasticache.NewDescribeCacheClustersPaginator(api, &elasticache.DescribeCacheClustersInput{ShowCacheNodeInfo: aws.Bool(true), MaxRecords: aws.Int32(100)})
		var out []types.CacheCluster
		for n := 0; p.HasMorePages() && n < maxPages; n++ {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			out = append(out, page.CacheClusters...)
		}
		return out, nil
	})
}

// recentEvents lists the region's ElastiCache events of the window.
func recentEvents(ctx context.Context, api API, hub *cloudaws.Hub, ref cloudaws.Ref, window time.Duration) ([]awssvc.Event, error) {
	return awssvc.Describe(ctx, hub, "elasticache-events|"+ref.String()+"|"+window.String(), sharedTTL, func(ctx context.Context) ([]awssvc.Event, error) {
		p := elasticache.NewDescribeEventsPaginator(api, &elasticache.DescribeEventsInput{StartTime: aws.Time(time.Now().Add(-window)), MaxRecords: aws.Int32(100)})
		var out []awssvc.Event
		for n := 0; p.HasMorePages() && n < maxPages; n++ {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, e := range page.Events {
				out = append(out, awssvc.Event{Source: aws.ToString(e.SourceIdentifier), Time: aws.ToTime(e.Date), Message: aws.ToString(e.Message)})
			}
		}
		return out, nil
	})
}
