// Package redshiftcheck is the "aws_redshift" check type: status and
// availability of a Redshift cluster, its next maintenance, and recent node
// failure, recovery and maintenance events (DescribeEvents).
package redshiftcheck

//go:generate go run ../../tools/sdkwrap -type redshiftClient -new newRedshift github.com/aws/aws-sdk-go-v2/service/redshift DescribeClusters DescribeEvents

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshift"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

// Redshift events have a category (management, monitoring, security,
// pending) and a severity (INFO, ERROR). By default ERROR events, pending
// (scheduled) changes and node hardware failures/replacements are WARNING.
var (
	DefaultEventCategories = []string{"pending"}
	DefaultEventSeverities = []string{"error"}
	DefaultEventWords      = []string{"hardware", "node failure", "replac", "failed"}
)

// DefaultEventWindow is how long an event keeps the check WARNING.
const DefaultEventWindow = 30 * time.Minute

func init() {
	check.Register(&check.Kind{
		Name:    "aws_redshift",
		Label:   "AWS REDSHIFT",
		Summary: "Redshift cluster status and availability, node failure/recovery and maintenance events",
		Scope:   check.ScopeServer,
		Timeout: 30 * time.Second,
		New: func() check.Spec {
			return &Spec{EventWindow: DefaultEventWindow, EventCategories: DefaultEventCategories, EventWords: DefaultEventWords}
		},
	})
}

// Spec is the aws_redshift check's configuration.
type Spec struct {
	awscheck.Target
	Cluster         string        `yaml:"cluster" required:"true" help:"Redshift cluster identifier"`
	EventWindow     time.Duration `yaml:"event_window" help:"events this recent count (0: events are not checked)"`
	EventCategories []string      `yaml:"event_categories" help:"event categories that are WARNING within the window (ERROR severity always is)"`
	EventWords      []string      `yaml:"event_words" help:"event messages containing one of these words are WARNING within the window"`
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	errs := s.Target.Validate()
	if s.Cluster == "" {
		errs = append(errs, check.Errf("cluster", "is required"))
	}
	if s.EventWindow < 0 || s.EventWindow > 14*24*time.Hour {
		errs = append(errs, check.Errf("event_window", "must be between 0 and 14 days (Redshift keeps events 14 days)"))
	}
	return errs
}

// API is what the check needs of the Redshift client.
type API interface {
	DescribeClusters(ctx context.Context, in *redshift.DescribeClustersInput, opt ...func(*redshift.Options)) (*redshift.DescribeClustersOutput, error)
	redshift.DescribeEventsAPIClient
}

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	sp, hub := *s, awscheck.HubOf(env)
	return check.CheckerFunc(func(ctx context.Context) check.Result {
		api, ref, err := awscheck.Client(ctx, hub, &sp.Target, "redshift", newRedshift)
		if err != nil {
			return awscheck.ConfigError(err)
		}
		return sp.Run(ctx, api, hub, ref)
	}), nil
}

// Run checks the cluster through api; hub and ref name the account and
// region whose event listing the checks share.
func (s *Spec) Run(ctx context.Context, api API, hub *cloudaws.Hub, ref cloudaws.Ref) check.Result {
	out, err := api.DescribeClusters(ctx, &redshift.DescribeClustersInput{ClusterIdentifier: aws.String(s.Cluster)})
	if awssvc.NotFound(err) || err == nil && len(out.Clusters) == 0 {
		return awssvc.NotFoundResult("Redshift cluster", s.Cluster, ref)
	}
	if err != nil {
		return awscheck.ErrorResult(ctx, ref, err)
	}
	c := out.Clusters[0]
	status, avail := aws.ToString(c.ClusterStatus), aws.ToString(c.ClusterAvailabilityStatus)
	st := check.Worst(Grade(status), GradeAvailability(avail))
	text := fmt.Sprintf("cluster %s %s", s.Cluster, status)
	if avail != "" {
		text += " (" + avail + ")"
	}
	parts := []string{fmt.Sprintf("%s, %d nodes", text, len(c.ClusterNodes))}
	if c.NextMaintenanceWindowStartTime != nil && time.Until(*c.NextMaintenanceWindowStartTime) < 7*24*time.Hour {
		parts = append(parts, "next maintenance window "+awssvc.When(*c.NextMaintenanceWindowStartTime))
	}
	var lines []string
	if s.EventWindow > 0 {
		events, err := recentEvents(ctx, api, hub, ref, s.EventWindow)
		if err != nil {
			return awscheck.ErrorResult(ctx, ref, err)
		}
		rule := awssvc.EventRule{Warn: s.EventCategories, Severities: DefaultEventSeverities, Words: s.EventWords}
		es, el := rule.Grade(awssvc.Within(events, map[string]bool{s.Cluster: true}, s.EventWindow))
		st, lines = check.Worst(st, es), el
	}
	return check.Result{Status: st, Output: awssvc.Summary(parts, lines)}
}

// Grade maps a Redshift cluster status to a check status.
func Grade(status string) check.Status {
	switch status {
	case "available":
		return check.OK
	case "hardware-failure", "incompatible-hsm", "incompatible-network", "incompatible-parameters",
		"incompatible-restore", "storage-full", "deleting", "final-snapshot", "paused":
		return check.Critical
	}
	return check.Warning // creating, modifying, rebooting, resizing, renaming, rotating-keys, updating-hsm…
}

// GradeAvailability maps ClusterAvailabilityStatus (whether queries run).
func GradeAvailability(a string) check.Status {
	switch strings.ToLower(a) {
	case "", "available":
		return check.OK
	case "unavailable", "failed":
		return check.Critical
	}
	return check.Warning // maintenance, modifying
}

// sharedTTL is how long one event listing serves every Redshift check of
// the same account and region; maxPages bounds it (100 events a page).
const (
	sharedTTL = 60 * time.Second
	maxPages  = 20
)

func recentEvents(ctx context.Context, api API, hub *cloudaws.Hub, ref cloudaws.Ref, window time.Duration) ([]awssvc.Event, error) {
	return awssvc.Describe(ctx, hub, "redshift-events|"+ref.String()+"|"+window.String(), sharedTTL, func(ctx context.Context) ([]awssvc.Event, error) {
		p := redshift.NewDescribeEventsPaginator(api, &redshift.DescribeEventsInput{StartTime: aws.Time(time.Now().Add(-window)), MaxRecords: aws.Int32(100)})
		var out []awssvc.Event
		for n := 0; p.HasMorePages() && n < maxPages; n++ {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, e := range page.Events {
				ev := awssvc.Event{Source: aws.ToString(e.SourceIdentifier), Time: aws.ToTime(e.Date), Message: aws.ToString(e.Message), Severity: aws.ToString(e.Severity)}
				for _, c := range e.EventCategories {
					ev.Categories = append(ev.Categories, strings.ToLower(c))
				}
				out = append(out, ev)
			}
		}
		return out, nil
	})
}
