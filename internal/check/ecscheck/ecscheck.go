// Package ecscheck is the "aws_ecs" check type: running against desired
// task counts per service of an ECS cluster (DescribeServices), and failed
// deployments.
package ecscheck

//go:generate go run ../../tools/sdkwrap -type ecsClient -new newECS github.com/aws/aws-sdk-go-v2/service/ecs DescribeServices ListTagsForResource ListServices ListClusters

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

// Defaults: any service short of its desired count is WARNING; one running
// less than half of it (or none at all) is CRITICAL.
const (
	DefaultWarningPct  = 100.0
	DefaultCriticalPct = 50.0
)

func init() {
	check.Register(&check.Kind{
		Name:    "aws_ecs",
		Label:   "AWS ECS",
		Summary: "running vs desired tasks per service of an ECS cluster, failed deployments (DescribeServices)",
		Scope:   check.ScopeServer,
		Timeout: 30 * time.Second,
		New:     func() check.Spec { return &Spec{WarningPct: DefaultWarningPct, CriticalPct: DefaultCriticalPct} },
	})
}

// Spec is the aws_ecs check's configuration.
type Spec struct {
	awscheck.Target
	Cluster     string   `yaml:"cluster" required:"true" help:"ECS cluster name or ARN"`
	Services    []string `yaml:"services" help:"services to watch (default: every service of the cluster)"`
	WarningPct  float64  `yaml:"warning_pct" help:"WARNING when running tasks are below this % of desired"`
	CriticalPct float64  `yaml:"critical_pct" help:"CRITICAL when running tasks are below this % of desired (or none run)"`
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	errs := s.Target.Validate()
	if s.Cluster == "" {
		errs = append(errs, check.Errf("cluster", "is required"))
	}
	for _, p := range []struct {
		k string
		v float64
	}{{"warning_pct", s.WarningPct}, {"critical_pct", s.CriticalPct}} {
		if p.v < 0 || p.v > 100 {
			errs = append(errs, check.Errf(p.k, "must be between 0 and 100, not %g", p.v))
		}
	}
	if s.CriticalPct > s.WarningPct {
		errs = append(errs, check.Errf("critical_pct", "%g is above warning_pct %g", s.CriticalPct, s.WarningPct))
	}
	return errs
}

// API is what the check needs of the ECS client.
type API interface {
	ecs.ListServicesAPIClient
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, opt ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
}

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	sp, hub := *s, awscheck.HubOf(env)
	return check.CheckerFunc(func(ctx context.Context) check.Result {
		api, ref, err := awscheck.Client(ctx, hub, &sp.Target, "ecs", newECS)
		if err != nil {
			return awscheck.ConfigError(err)
		}
		return sp.Run(ctx, api, ref)
	}), nil
}

// Run checks the cluster's services through api.
func (s *Spec) Run(ctx context.Context, api API, ref cloudaws.Ref) check.Result {
	names := s.Services
	if len(names) == 0 {
		p := ecs.NewListServicesPaginator(api, &ecs.ListServicesInput{Cluster: aws.String(s.Cluster)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return s.fail(ctx, err, ref)
			}
			names = append(names, page.ServiceArns...)
		}
		if len(names) == 0 {
			return check.Resultf(check.Unknown, "cluster %s has no services", s.Cluster)
		}
	}
	var svcs []types.Service
	var missing []string
	for i := 0; i < len(names); i += 10 {
		out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(s.Cluster), Services: names[i:min(i+10, len(names))]})
		if err != nil {
			return s.fail(ctx, err, ref)
		}
		svcs = append(svcs, out.Services...)
		for _, f := range out.Failures {
			missing = append(missing, fmt.Sprintf("%s: %s", lastPart(aws.ToString(f.Arn)), aws.ToString(f.Reason)))
		}
	}
	return s.Evaluate(svcs, missing)
}

func (s *Spec) fail(ctx context.Context, err error, ref cloudaws.Ref) check.Result {
	if awssvc.NotFound(err) {
		return awssvc.NotFoundResult("ECS cluster", s.Cluster, ref)
	}
	return awscheck.ErrorResult(ctx, ref, err)
}

// Evaluate grades the described services.
func (s *Spec) Evaluate(svcs []types.Service, missing []string) check.Result {
	st := check.OK
	var bad []string
	r := check.Result{}
	for _, sv := range svcs {
		name := aws.ToString(sv.ServiceName)
		des, run := sv.DesiredCount, sv.RunningCount
		s1, why := s.grade(sv)
		st = check.Worst(st, s1)
		if s1 != check.OK {
			bad = append(bad, fmt.Sprintf("%s %d/%d running%s", name, run, des, why))
		}
		r.Perf = append(r.Perf, check.Metric{Label: name + "_running", Value: float64(run), Warn: check.NaN, Crit: check.NaN, Min: 0, Max: float64(des)})
	}
	for _, m := range missing {
		st = check.Critical
		bad = append(bad, m)
	}
	sort.Strings(bad)
	r.Status = st
	if len(bad) == 0 {
		r.Output = check.OneLine(fmt.Sprintf("cluster %s: %d services at desired count", s.Cluster, len(svcs)))
	} else {
		r.Output = check.OneLine(fmt.Sprintf("cluster %s: %s", s.Cluster, strings.Join(bad, "; ")))
	}
	return r
}

func (s *Spec) grade(sv types.Service) (check.Status, string) {
	des, run := float64(sv.DesiredCount), float64(sv.RunningCount)
	st, why := check.OK, ""
	if status := aws.ToString(sv.Status); status != "ACTIVE" {
		return check.Critical, " (service " + status + ")"
	}
	for _, d := range sv.Deployments {
		if d.RolloutState == types.DeploymentRolloutStateFailed {
			st, why = check.Critical, " (deployment failed: "+check.OneLine(aws.ToString(d.RolloutStateReason))+")"
		}
	}
	switch {
	case des > 0 && run == 0, des > 0 && run < math.Ceil(des*s.CriticalPct/100):
		st = check.Critical
	case run < math.Ceil(des*s.WarningPct/100):
		st = check.Worst(st, check.Warning)
	}
	if sv.PendingCount > 0 && st != check.OK {
		why += fmt.Sprintf(", %d pending", sv.PendingCount)
	}
	return st, why
}

func lastPart(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
