// Package elbcheck is the "aws_elb" check type: healthy and unhealthy
// targets behind an Application/Network/Gateway load balancer or target
// group (DescribeTargetHealth) or a Classic Load Balancer
// (DescribeInstanceHealth), against minimum/maximum counts.
package elbcheck

//go:generate go run ../../tools/sdkwrap -alias elbv2 -type elbv2Client -new newELBv2 github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2 DescribeLoadBalancers DescribeTargetGroups DescribeTargetHealth DescribeTags
//go:generate go run ../../tools/sdkwrap -o sdk_classic.go -alias elb -type elbClient -new newELB github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing DescribeInstanceHealth DescribeLoadBalancers DescribeTags

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

func init() {
	check.Register(&check.Kind{
		Name:    "aws_elb",
		Label:   "AWS ELB",
		Summary: "healthy/unhealthy targets of an ALB/NLB target group or load balancer, or a Classic Load Balancer's instances",
		Scope:   check.ScopeServer,
		Timeout: 30 * time.Second,
		New:     func() check.Spec { return &Spec{MinHealthy: 1} },
	})
}

// Spec is the aws_elb check's configuration.
type Spec struct {
	awscheck.Target
	TargetGroup         string `yaml:"target_group" help:"ALB/NLB target group ARN or name (one of target_group, load_balancer, classic_load_balancer)"`
	LoadBalancer        string `yaml:"load_balancer" help:"ALB/NLB name or ARN: every target group it forwards to"`
	ClassicLoadBalancer string `yaml:"classic_load_balancer" help:"Classic Load Balancer name"`
	MinHealthy          int    `yaml:"min_healthy" help:"CRITICAL when fewer targets are healthy"`
	MinHealthyWarning   int    `yaml:"min_healthy_warning" help:"WARNING when fewer targets are healthy (0: off)"`
	MaxUnhealthy        int    `yaml:"max_unhealthy" help:"WARNING when more targets are unhealthy"`
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	errs := s.Target.Validate()
	n := 0
	for _, v := range []string{s.TargetGroup, s.LoadBalancer, s.ClassicLoadBalancer} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		errs = append(errs, check.Errf("target_group", "set exactly one of target_group, load_balancer and classic_load_balancer"))
	}
	if s.MinHealthy < 0 || s.MinHealthyWarning < 0 || s.MaxUnhealthy < 0 {
		errs = append(errs, check.Errf("min_healthy", "counts must not be negative"))
	}
	return errs
}

// V2 is what the check needs of the ELBv2 client; Classic of the ELB one.
type (
	V2 interface {
		DescribeLoadBalancers(ctx context.Context, in *elbv2.DescribeLoadBalancersInput, opt ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error)
		DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput, opt ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
		DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, opt ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
	}
	Classic interface {
		DescribeInstanceHealth(ctx context.Context, in *elb.DescribeInstanceHealthInput, opt ...func(*elb.Options)) (*elb.DescribeInstanceHealthOutput, error)
	}
)

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	sp, hub := *s, awscheck.HubOf(env)
	return check.CheckerFunc(func(ctx context.Context) check.Result {
		if sp.ClassicLoadBalancer != "" {
			api, ref, err := awscheck.Client(ctx, hub, &sp.Target, "elasticloadbalancing", newELB)
			if err != nil {
				return awscheck.ConfigError(err)
			}
			return sp.RunClassic(ctx, api, ref)
		}
		api, ref, err := awscheck.Client(ctx, hub, &sp.Target, "elasticloadbalancingv2", newELBv2)
		if err != nil {
			return awscheck.ConfigError(err)
		}
		return sp.RunV2(ctx, api, ref)
	}), nil
}

// counts are the targets by state.
type counts struct {
	healthy, unhealthy, other int
	bad                       []string // "i-0abc:80 unhealthy (Target.Timeout)"
}

// RunClassic checks a Classic Load Balancer's instances.
func (s *Spec) RunClassic(ctx context.Context, api Classic, ref cloudaws.Ref) check.Result {
	out, err := api.DescribeInstanceHealth(ctx, &elb.DescribeInstanceHealthInput{LoadBalancerName: aws.String(s.ClassicLoadBalancer)})
	if awssvc.NotFound(err) || isCode(err, "LoadBalancerNotFound") {
		return awssvc.NotFoundResult("load balancer", s.ClassicLoadBalancer, ref)
	}
	if err != nil {
		return awscheck.ErrorResult(ctx, ref, err)
	}
	var c counts
	for _, i := range out.InstanceStates {
		switch st := aws.ToString(i.State); st {
		case "InService":
			c.healthy++
		case "OutOfService":
			c.unhealthy++
			c.bad = append(c.bad, fmt.Sprintf("%s OutOfService (%s)", aws.ToString(i.InstanceId), aws.ToString(i.ReasonCode)))
		default:
			c.other++
		}
	}
	return s.Evaluate("classic load balancer "+s.ClassicLoadBalancer, c)
}

// Evaluate grades the counts against the thresholds.
func (s *Spec) Evaluate(what string, c counts) check.Result {
	st := check.OK
	switch {
	case c.healthy < s.MinHealthy:
		st = check.Critical
	case c.healthy < s.MinHealthyWarning || c.unhealthy > s.MaxUnhealthy:
		st = check.Warning
	}
	text := fmt.Sprintf("%s: %d healthy, %d unhealthy", what, c.healthy, c.unhealthy)
	if c.other > 0 {
		text += fmt.Sprintf(", %d other", c.other)
	}
	if len(c.bad) > 0 {
		sort.Strings(c.bad)
		text += ": " + strings.Join(c.bad, ", ")
	}
	r := check.Resultf(st, "%s", text)
	warn := float64(s.MinHealthyWarning)
	if s.MinHealthyWarning == 0 {
		warn = check.NaN
	}
	return r.With(
		check.Metric{Label: "healthy", Value: float64(c.healthy), Warn: warn, Crit: float64(s.MinHealthy), Min: 0, Max: check.NaN},
		check.Metric{Label: "unhealthy", Value: float64(c.unhealthy), Warn: float64(s.MaxUnhealthy), Crit: check.NaN, Min: 0, Max: check.NaN},
	)
}
