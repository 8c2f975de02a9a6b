// Package rdscheck is the "aws_rds" check type: the status of an RDS DB
// instance or Aurora cluster and its members, recent events such as
// failovers (DescribeEvents), and pending maintenance
// (DescribePendingMaintenanceActions → WARNING with the date).
package rdscheck

//go:generate go run ../../tools/sdkwrap -type rdsClient -new newRDS github.com/aws/aws-sdk-go-v2/service/rds DescribeDBClusters DescribeDBInstances DescribePendingMaintenanceActions DescribeEvents

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

// DefaultEventCategories are the RDS event categories that make the check
// WARNING while they are within the event window: a failover happened, an
// instance failed, ran low on storage or was restarted.
var DefaultEventCategories = []string{"failover", "failure", "low storage", "availability"}

// DefaultEventWindow is how long an event keeps the check WARNING: long
// enough for a 5-minute check with retries to turn hard.
const DefaultEventWindow = 30 * time.Minute

func init() {
	check.Register(&check.Kind{
		Name:    "aws_rds",
		Label:   "AWS RDS",
		Summary: "RDS instance or Aurora cluster status, failover and other events, pending maintenance (WARNING with its date)",
		Scope:   check.ScopeServer,
		Timeout: 30 * time.Second,
		New: func() check.Spec {
			return &Spec{EventWindow: DefaultEventWindow, EventCategories: DefaultEventCategories, Maintenance: true}
		},
	})
}

// Spec is the aws_rds check's configuration.
type Spec struct {
	awscheck.Target
	Cluster         string        `yaml:"cluster" help:"Aurora/Multi-AZ DB cluster identifier (this or instance)"`
	Instance        string        `yaml:"instance" help:"DB instance identifier (this or cluster)"`
	EventWindow     time.Duration `yaml:"event_window" help:"events this recent count (0: events are not checked)"`
	EventCategories []string      `yaml:"event_categories" help:"RDS event categories that are WARNING within the window"`
	Maintenance     bool          `yaml:"maintenance" help:"WARNING while maintenance is pending, with its date"`
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	errs := s.Target.Validate()
	if (s.Cluster == "") == (s.Instance == "") {
		errs = append(errs, check.Errf("cluster", "set exactly one of cluster and instance"))
	}
	if s.EventWindow < 0 || s.EventWindow > 14*24*time.Hour {
		errs = append(errs, check.Errf("event_window", "must be between 0 and 14 days (RDS keeps events 14 days)"))
	}
	return errs
}

// API is what the check needs of the RDS client.
type API interface {
	DescribeDBClusters(ctx context.Context, in *rds.DescribeDBClustersInput, opt ...func(*rds.Options)) (*rds.DescribeDBClustersOutput, error)
	DescribeDBInstances(ctx context.Context, in *rds.DescribeDBInstancesInput, opt ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error)
	DescribePendingMaintenanceActions(ctx context.Context, in *rds.DescribePendingMaintenanceActionsInput, opt ...func(*rds.Options)) (*rds.DescribePendingMaintenanceActionsOutput, error)
	rds.DescribeEventsAPIClient
}

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	sp, hub := *s, awscheck.HubOf(env)
	return check.CheckerFunc(func(ctx context.Context) check.Result {
		api, ref, err := awscheck.Client(ctx, hub, &sp.Target, "rds", newRDS)
		if err != nil {
			return awscheck.ConfigError(err)
		}
		return sp.Run(ctx, api, hub, ref)
	}), nil
}

type resource struct {
	kind, id, arn, status string
	members               []string // instance identifiers of a cluster
}

// Run checks the cluster or instance through api; hub and ref name the
// account and region for sharing the event list between checks.
func (s *Spec) Run(ctx context.Context, api API, hub *cloudaws.Hub, ref cloudaws.Ref) check.Result {
	res, st, parts, fail := s.describe(ctx, api, ref)
	if fail != nil {
		return *fail
	}
	if s.Maintenance {
		ms, mparts, err := s.maintenance(ctx, api, res)
		if err != nil {
			return awscheck.ErrorResult(ctx, ref, err)
		}
		st, parts = check.Worst(st, ms), append(parts, mparts...)
	}
	var lines []string
	if s.EventWindow > 0 {
		events, err := recentEvents(ctx, api, hub, ref, s.EventWindow)
		if err != nil {
			return awscheck.ErrorResult(ctx, ref, err)
		}
		mine := map[string]bool{res.id: true}
		for _, m := range res.members {
			mine[m] = true
		}
		es, el := awssvc.EventRule{Warn: s.EventCategories}.Grade(awssvc.Within(events, mine, s.EventWindow))
		st, lines = check.Worst(st, es), el
	}
	return check.Result{Status: st, Output: awssvc.Summary(parts, lines)}
}

func (s *Spec) describe(ctx context.Context, api API, ref cloudaws.Ref) (resource, check.Status, []string, *check.Result) {
	if s.Cluster != "" {
		out, err := api.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(s.Cluster)})
		if r, bad := s.failed(ctx, err, out == nil || len(out.DBClusters) == 0, "DB cluster", s.Cluster, ref); bad {
			return resource{}, 0, nil, &r
		}
		c := out.DBClusters[0]
		res := resource{kind: "cluster", id: s.Cluster, arn: aws.ToString(c.DBClusterArn), status: aws.ToString(c.Status)}
		for _, m := range c.DBClusterMembers {
			res.members = append(res.members, aws.ToString(m.DBInstanceIdentifier))
		}
		st := Grade(res.status)
		parts := []string{fmt.Sprintf("cluster %s (%s) %s", s.Cluster, aws.ToString(c.Engine), res.status)}
		if len(res.members) == 0 {
			return res, st, parts, nil
		}
		in, err := api.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{Filters: []types.Filter{{Name: aws.String("db-cluster-id"), Values: []string{s.Cluster}}}})
		if err != nil {
			r := awscheck.ErrorResult(ctx, ref, err)
			return res, 0, nil, &r
		}
		ms, mparts := members(c, in.DBInstances)
		return res, check.Worst(st, ms), append(parts, mparts...), nil
	}
	out, err := api.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(s.Instance)})
	if r, bad := s.failed(ctx, err, out == nil || len(out.DBInstances) == 0, "DB instance", s.Instance, ref); bad {
		return resource{}, 0, nil, &r
	}
	i := out.DBInstances[0]
	res := resource{kind: "instance", id: s.Instance, arn: aws.ToString(i.DBInstanceArn), status: aws.ToString(i.DBInstanceStatus)}
	return res, Grade(res.status), []string{fmt.Sprintf("instance %s (%s) %s", s.Instance, aws.ToString(i.Engine), res.status)}, nil
}

func (s *Spec) failed(ctx context.Context, err error, empty bool, what, id string, ref cloudaws.Ref) (check.Result, bool) {
	switch {
	case awssvc.NotFound(err) || err == nil && empty:
		return awssvc.NotFoundResult(what, id, ref), true
	case err != nil:
		return awscheck.ErrorResult(ctx, ref, err), true
	}
	return check.Result{}, false
}

// members grades a cluster's member instances and names the writer.
func members(c types.DBCluster, insts []types.DBInstance) (check.Status, []string) {
	writer := ""
	for _, m := range c.DBClusterMembers {
		if aws.ToBool(m.IsClusterWriter) {
			writer = aws.ToString(m.DBInstanceIdentifier)
		}
	}
	st := check.OK
	var bad []string
	for _, i := range insts {
		status := aws.ToString(i.DBInstanceStatus)
		if g := Grade(status); g != check.OK {
			st = check.Worst(st, g)
			bad = append(bad, fmt.Sprintf("%s %s", aws.ToString(i.DBInstanceIdentifier), status))
		}
	}
	parts := []string{fmt.Sprintf("%d instances, writer %s", len(insts), writer)}
	if len(bad) > 0 {
		parts = append(parts, "instances "+strings.Join(bad, ", "))
	}
	return st, parts
}

// Grade maps an RDS cluster or instance status to a check status: states
// where the database does not serve are CRITICAL, transitions WARNING.
func Grade(status string) check.Status {
	switch status {
	case "available", "backing-up", "storage-optimization", "backtracking":
		return check.OK
	case "failed", "inaccessible-encryption-credentials", "inaccessible-encryption-credentials-recoverable",
		"incompatible-credentials", "incompatible-network", "incompatible-option-group", "incompatible-parameters",
		"incompatible-restore", "insufficient-capacity", "restore-error", "storage-full", "stopped", "stopping",
		"deleting", "cloning-failed", "migration-failed":
		return check.Critical
	}
	return check.Warning // creating, modifying, rebooting, maintenance, upgrading, starting, renaming…
}
