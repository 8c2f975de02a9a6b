// Package beanstalkcheck is the "aws_beanstalk" check type: the health of
// an Elastic Beanstalk environment (DescribeEnvironments: Health colour,
// enhanced HealthStatus and Status), with the causes enhanced health
// reporting gives (DescribeEnvironmentHealth) when it is not OK.
package beanstalkcheck

//go:generate go run ../../tools/sdkwrap -type ebClient -new newEB -alias eb github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk DescribeEnvironmentHealth DescribeEnvironments ListTagsForResource

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	eb "github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk"
	"github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk/types"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

func init() {
	check.Register(&check.Kind{
		Name:    "aws_beanstalk",
		Label:   "AWS BEANSTALK",
		Summary: "Elastic Beanstalk environment health: Green/Ok is OK, Yellow/Warning WARNING, Red/Degraded/Severe CRITICAL, with causes",
		Scope:   check.ScopeServer,
		Timeout: 30 * time.Second,
		New:     func() check.Spec { return &Spec{} },
	})
}

// Spec is the aws_beanstalk check's configuration.
type Spec struct {
	awscheck.Target
	Environment string `yaml:"environment" required:"true" help:"environment name"`
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	errs := s.Target.Validate()
	if s.Environment == "" {
		errs = append(errs, check.Errf("environment", "is required"))
	}
	return errs
}

// API is what the check needs of the Elastic Beanstalk client.
type API interface {
	DescribeEnvironments(ctx context.Context, in *eb.DescribeEnvironmentsInput, opt ...func(*eb.Options)) (*eb.DescribeEnvironmentsOutput, error)
	DescribeEnvironmentHealth(ctx context.Context, in *eb.DescribeEnvironmentHealthInput, opt ...func(*eb.Options)) (*eb.DescribeEnvironmentHealthOutput, error)
}

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	sp, hub := *s, awscheck.HubOf(env)
	return check.CheckerFunc(func(ctx context.Context) check.Result {
		api, ref, err := awscheck.Client(ctx, hub, &sp.Target, "elasticbeanstalk", newEB)
		if err != nil {
			return awscheck.ConfigError(err)
		}
		return sp.Run(ctx, api, ref)
	}), nil
}

// Run describes the environment and grades its health.
func (s *Spec) Run(ctx context.Context, api API, ref cloudaws.Ref) check.Result {
	out, err := api.DescribeEnvironments(ctx, &eb.DescribeEnvironmentsInput{EnvironmentNames: []string{s.Environment}, IncludeDeleted: aws.Bool(false)})
	if err != nil {
		return awscheck.ErrorResult(ctx, ref, err)
	}
	if len(out.Environments) == 0 {
		return awssvc.NotFoundResult("environment", s.Environment, ref)
	}
	e := out.Environments[0]
	st := Grade(e)
	text := fmt.Sprintf("environment %s %s, health %s", s.Environment, e.Status, e.Health)
	if e.HealthStatus != "" {
		text += " (" + string(e.HealthStatus) + ")"
	}
	if st != check.OK && e.HealthStatus != "" {
		// Enhanced health reporting says why; without it the call fails
		// and the colour is all there is.
		h, err := api.DescribeEnvironmentHealth(ctx, &eb.DescribeEnvironmentHealthInput{EnvironmentName: aws.String(s.Environment),
			AttributeNames: []types.EnvironmentHealthAttribute{types.EnvironmentHealthAttributeCauses, types.EnvironmentHealthAttributeInstancesHealth}})
		if err == nil && len(h.Causes) > 0 {
			text += ": " + strings.Join(h.Causes, "; ")
		}
	}
	return check.Resultf(st, "%s", text)
}

// Grade maps an environment's status, colour and enhanced health status to
// a check status (the worst of them).
func Grade(e types.EnvironmentDescription) check.Status {
	st := check.OK
	switch e.Status {
	case types.EnvironmentStatusTerminated, types.EnvironmentStatusTerminating, types.EnvironmentStatusAborting:
		return check.Critical
	case types.EnvironmentStatusLaunching, types.EnvironmentStatusUpdating, types.EnvironmentStatusLinkingFrom, types.EnvironmentStatusLinkingTo:
		st = check.Warning
	}
	switch e.Health {
	case types.EnvironmentHealthRed:
		return check.Critical
	case types.EnvironmentHealthYellow:
		st = check.Warning
	case types.EnvironmentHealthGrey:
		st = check.Worst(st, check.Unknown)
	}
	switch e.HealthStatus {
	case types.EnvironmentHealthStatusDegraded, types.EnvironmentHealthStatusSevere:
		return check.Critical
	case types.EnvironmentHealthStatusWarning:
		st = check.Warning
	case types.EnvironmentHealthStatusUnknown, types.EnvironmentHealthStatusNoData, types.EnvironmentHealthStatusSuspended:
		st = check.Worst(st, check.Unknown)
	}
	return st
}
