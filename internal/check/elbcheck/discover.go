package elbcheck

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

func init() {
	awscheck.RegisterDiscoverer(&awscheck.Discoverer{Service: "elb", Discover: discover,
		IAM: []string{"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags"}})
}

// discover proposes the aws_elb check per ALB/NLB (all its target groups)
// and per Classic Load Balancer, and the 5xx count of each ALB.
func discover(ctx context.Context, h *cloudaws.Hub, ref cloudaws.Ref, tags map[string]string) ([]awscheck.Resource, error) {
	v2, err := cloudaws.Client(ctx, h, ref, "elasticloadbalancingv2", newELBv2)
	if err != nil {
		return nil, err
	}
	var out []awscheck.Resource
	p := elbv2.NewDescribeLoadBalancersPaginator(v2, &elbv2.DescribeLoadBalancersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, lb := range page.LoadBalancers {
			arn, name := aws.ToString(lb.LoadBalancerArn), aws.ToString(lb.LoadBalancerName)
			if len(tags) > 0 {
				t, err := v2.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{arn}})
				if err != nil {
					return nil, err
				}
				have := map[string]string{}
				for _, d := range t.TagDescriptions {
					for _, tg := range d.Tags {
						have[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
					}
				}
				if !awssvc.HasTags(have, tags) {
					continue
				}
			}
			checks := []awscheck.Proposal{awssvc.Proposal("elb-"+name, "aws_elb", "healthy/unhealthy targets", awssvc.KV("load_balancer", name))}
			if lb.Type == "application" {
				_, dim, _ := strings.Cut(arn, ":loadbalancer/") // app/NAME/ID, the metrics' LoadBalancer dimension
				checks = awssvc.WithTemplates(checks, "elb", "elb-"+name, dim, nil)
			}
			out = append(out, awscheck.Resource{ID: arn, Name: name, Checks: checks})
		}
	}
	classic, err := discoverClassic(ctx, h, ref, tags)
	return append(out, classic...), err
}

func discoverClassic(ctx context.Context, h *cloudaws.Hub, ref cloudaws.Ref, tags map[string]string) ([]awscheck.Resource, error) {
	v1, err := cloudaws.Client(ctx, h, ref, "elasticloadbalancing", newELB)
	if err != nil {
		return nil, err
	}
	var out []awscheck.Resource
	p := elb.NewDescribeLoadBalancersPaginator(v1, &elb.DescribeLoadBalancersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, lb := range page.LoadBalancerDescriptions {
			name := aws.ToString(lb.LoadBalancerName)
			if len(tags) > 0 {
				t, err := v1.DescribeTags(ctx, &elb.DescribeTagsInput{LoadBalancerNames: []string{name}})
				if err != nil {
					return nil, err
				}
				have := map[string]string{}
				for _, d := range t.TagDescriptions {
					for _, tg := range d.Tags {
						have[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
					}
				}
				if !awssvc.HasTags(have, tags) {
					continue
				}
			}
			out = append(out, awscheck.Resource{ID: name, Name: name, Checks: []awscheck.Proposal{
				awssvc.Proposal("clb-"+name, "aws_elb", "InService/OutOfService instances", awssvc.KV("classic_load_balancer", name))}})
		}
	}
	return out, nil
}
