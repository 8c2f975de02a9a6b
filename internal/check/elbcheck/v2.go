package elbcheck

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

// RunV2 checks the targets of a target group, or of every target group of
// an ALB/NLB.
func (s *Spec) RunV2(ctx context.Context, api V2, ref cloudaws.Ref) check.Result {
	groups, what, res := s.groups(ctx, api, ref)
	if res != nil {
		return *res
	}
	var c counts
	for _, g := range groups {
		out, err := api.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: g.TargetGroupArn})
		if err != nil {
			return awscheck.ErrorResult(ctx, ref, err)
		}
		for _, d := range out.TargetHealthDescriptions {
			tally(&c, g, d, len(groups) > 1)
		}
	}
	return s.Evaluate(what, c)
}

func tally(c *counts, g types.TargetGroup, d types.TargetHealthDescription, many bool) {
	id := aws.ToString(d.Target.Id)
	if d.Target.Port != nil {
		id = fmt.Sprintf("%s:%d", id, *d.Target.Port)
	}
	if many {
		id = aws.ToString(g.TargetGroupName) + "/" + id
	}
	var state types.TargetHealthStateEnum
	reason := ""
	if d.TargetHealth != nil {
		state, reason = d.TargetHealth.State, string(d.TargetHealth.Reason)
	}
	switch state {
	case types.TargetHealthStateEnumHealthy:
		c.healthy++
	case types.TargetHealthStateEnumUnhealthy, types.TargetHealthStateEnumUnhealthyDraining, types.TargetHealthStateEnumUnavailable:
		c.unhealthy++
		c.bad = append(c.bad, fmt.Sprintf("%s %s (%s)", id, state, reason))
	default: // initial, draining, unused
		c.other++
	}
}

// groups resolves what the spec names to target groups.
func (s *Spec) groups(ctx context.Context, api V2, ref cloudaws.Ref) ([]types.TargetGroup, string, *check.Result) {
	in := &elbv2.DescribeTargetGroupsInput{}
	what := "target group " + s.TargetGroup
	switch {
	case strings.HasPrefix(s.TargetGroup, "arn:"):
		in.TargetGroupArns = []string{s.TargetGroup}
	case s.TargetGroup != "":
		in.Names = []string{s.TargetGroup}
	default:
		what = "load balancer " + s.LoadBalancer
		arn := s.LoadBalancer
		if !strings.HasPrefix(arn, "arn:") {
			out, err := api.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{s.LoadBalancer}})
			if r, bad := lookupFailed(ctx, err, out == nil || len(out.LoadBalancers) == 0, "load balancer", s.LoadBalancer, ref); bad {
				return nil, "", &r
			}
			arn = aws.ToString(out.LoadBalancers[0].LoadBalancerArn)
		}
		in.LoadBalancerArn = aws.String(arn)
	}
	out, err := api.DescribeTargetGroups(ctx, in)
	kind, name := "target group", s.TargetGroup
	if name == "" {
		kind, name = "target groups of load balancer", s.LoadBalancer
	}
	if r, bad := lookupFailed(ctx, err, out == nil || len(out.TargetGroups) == 0, kind, name, ref); bad {
		return nil, "", &r
	}
	return out.TargetGroups, what, nil
}

func lookupFailed(ctx context.Context, err error, empty bool, what, id string, ref cloudaws.Ref) (check.Result, bool) {
	switch {
	case awssvc.NotFound(err) || err == nil && empty:
		return awssvc.NotFoundResult(what, id, ref), true
	case err != nil:
		return awscheck.ErrorResult(ctx, ref, err), true
	}
	return check.Result{}, false
}

func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}
