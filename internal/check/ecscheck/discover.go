package ecscheck

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

func init() {
	awscheck.RegisterDiscoverer(&awscheck.Discoverer{Service: "ecs", Discover: discover,
		IAM: []string{"ecs:ListClusters", "ecs:ListServices", "ecs:ListTagsForResource"}})
}

// discover proposes per cluster the aws_ecs check (every service's running
// against desired tasks) and per service its CPU and memory.
func discover(ctx context.Context, h *cloudaws.Hub, ref cloudaws.Ref, tags map[string]string) ([]awscheck.Resource, error) {
	api, err := cloudaws.Client(ctx, h, ref, "ecs", newECS)
	if err != nil {
		return nil, err
	}
	var out []awscheck.Resource
	p := ecs.NewListClustersPaginator(api, &ecs.ListClustersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, arn := range page.ClusterArns {
			if len(tags) > 0 {
				t, err := api.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
				if err != nil {
					return nil, err
				}
				have := map[string]string{}
				for _, tg := range t.Tags {
					have[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
				}
				if !awssvc.HasTags(have, tags) {
					continue
				}
			}
			name := lastPart(arn)
			checks := []awscheck.Proposal{awssvc.Proposal("ecs-"+name, "aws_ecs", "running vs desired tasks of every service", awssvc.KV("cluster", name))}
			sp := ecs.NewListServicesPaginator(api, &ecs.ListServicesInput{Cluster: aws.String(arn)})
			for sp.HasMorePages() {
				sv, err := sp.NextPage(ctx)
				if err != nil {
					return nil, err
				}
				for _, s := range sv.ServiceArns {
					checks = awssvc.WithTemplates(checks, "ecs", "ecs-"+name+"-"+lastPart(s), lastPart(s), map[string]string{"ClusterName": name})
				}
			}
			out = append(out, awscheck.Resource{ID: arn, Name: name, Checks: checks})
		}
	}
	return out, nil
}
