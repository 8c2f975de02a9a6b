package beanstalkcheck

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	eb "github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

func init() {
	awscheck.RegisterDiscoverer(&awscheck.Discoverer{Service: "beanstalk", Discover: discover,
		IAM: []string{"elasticbeanstalk:DescribeEnvironments", "elasticbeanstalk:ListTagsForResource"}})
}

// discover proposes the aws_beanstalk check per live environment.
func discover(ctx context.Context, h *cloudaws.Hub, ref cloudaws.Ref, tags map[string]string) ([]awscheck.Resource, error) {
	api, err := cloudaws.Client(ctx, h, ref, "elasticbeanstalk", newEB)
	if err != nil {
		return nil, err
	}
	out, err := api.DescribeEnvironments(ctx, &eb.DescribeEnvironmentsInput{IncludeDeleted: aws.Bool(false)})
	if err != nil {
		return nil, err
	}
	var res []awscheck.Resource
	for _, e := range out.Environments {
		if len(tags) > 0 {
			t, err := api.ListTagsForResource(ctx, &eb.ListTagsForResourceInput{ResourceArn: e.EnvironmentArn})
			if err != nil {
				return nil, err
			}
			have := map[string]string{}
			for _, tg := range t.ResourceTags {
				have[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
			}
			if !awssvc.HasTags(have, tags) {
				continue
			}
		}
		name := aws.ToString(e.EnvironmentName)
		res = append(res, awscheck.Resource{ID: aws.ToString(e.EnvironmentId), Name: name, Checks: []awscheck.Proposal{
			awssvc.Proposal("beanstalk-"+name, "aws_beanstalk", "environment health", awssvc.KV("environment", name))}})
	}
	return res, nil
}
