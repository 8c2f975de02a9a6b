// Package elasticachecheck is the "aws_elasticache" check type: status of
// an ElastiCache (Redis/Valkey/Memcached) cluster or replication group and
// of its cache nodes, and recent node failure, failover, recovery and
// maintenance events (DescribeEvents).
package elasticachecheck

//go:generate go run ../../tools/sdkwrap -type elasticacheClient -new newElastiCache github.com/aws/aws-sdk-go-v2/service/elasticache DescribeReplicationGroups ListTagsForResource DescribeCacheClusters DescribeEvents

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

// DefaultEventWords: ElastiCache events carry no category, so the check
// reads their messages ("Cache node 0001 restarted", "Failover from primary
// node … completed", "Recovering cache nodes 0001", "Finished recovery …",
// "… scheduled for replacement" …).
var DefaultEventWords = []string{"failover", "recover", "restart", "reboot", "fail", "replace", "maintenance"}

// DefaultEventWindow is how long an event keeps the check WARNING.
const DefaultEventWindow = 30 * time.Minute

func init() {
	check.Register(&check.Kind{
		Name:    "aws_elasticache",
		Label:   "AWS ELASTICACHE",
		Summary: "ElastiCache cluster or replication group and node status, node failure/recovery, failover and maintenance events",
		Scope:   check.ScopeServer,
		Timeout: 30 * time.Second,
		New:     func() check.Spec { return &Spec{EventWindow: DefaultEventWindow, EventWords: DefaultEventWords} },
	})
}

// Spec is the aws_elasticache check's configuration.
type Spec struct {
	awscheck.Target
	Cluster          string        `yaml:"cluster" help:"cache cluster ID (this or replication_group)"`
	ReplicationGroup string        `yaml:"replication_group" help:"replication group ID (Redis/Valkey; this or cluster)"`
	EventWindow      time.Duration `yaml:"event_window" help:"events this recent count (0: events are not checked)"`
	EventWords       []string      `yaml:"event_words" help:"event messages containing one of these words are WARNING within the window"`
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	errs := s.Target.Validate()
	if (s.Cluster == "") == (s.ReplicationGroup == "") {
		errs = append(errs, check.Errf("cluster", "set exactly one of cluster and replication_group"))
	}
	if s.EventWindow < 0 || s.EventWindow > 14*24*time.Hour {
		errs = append(errs, check.Errf("event_window", "must be between 0 and 14 days (ElastiCache keeps events 14 days)"))
	}
	return errs
}

// API is what the check needs of the ElastiCache client.
type API interface {
	elasticache.DescribeCacheClustersAPIClient
	elasticache.DescribeReplicationGroupsAPIClient
	elasticache.DescribeEventsAPIClient
}

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	sp, hub := *s, awscheck.HubOf(env)
	return check.CheckerFunc(func(ctx context.Context) check.Result {
		api, ref, err := awscheck.Client(ctx, hub, &sp.Target, "elasticache", newElastiCache)
		if err != nil {
			return awscheck.ConfigError(err)
		}
		return sp.Run(ctx, api, hub, ref)
	}), nil
}

// Run checks the cluster or group through api; hub and ref name the account
// and region whose cluster and event listings the checks share.
func (s *Spec) Run(ctx context.Context, api API, hub *cloudaws.Hub, ref cloudaws.Ref) check.Result {
	all, err := clusters(ctx, api, hub, ref)
	if err != nil {
		return awscheck.ErrorResult(ctx, ref, err)
	}
	st := check.OK
	var parts []string
	var mine []types.CacheCluster
	sources := map[string]bool{}
	if s.ReplicationGroup != "" {
		out, err := api.DescribeReplicationGroups(ctx, &elasticache.DescribeReplicationGroupsInput{ReplicationGroupId: aws.String(s.ReplicationGroup)})
		if awssvc.NotFound(err) || err == nil && len(out.ReplicationGroups) == 0 {
			return awssvc.NotFoundResult("replication group", s.ReplicationGroup, ref)
		}
		if err != nil {
			return awscheck.ErrorResult(ctx, ref, err)
		}
		g := out.ReplicationGroups[0]
		status := aws.ToString(g.Status)
		st = Grade(status)
		parts = append(parts, fmt.Sprintf("replication group %s %s", s.ReplicationGroup, status))
		sources[s.ReplicationGroup] = true
		for _, c := range all {
			if aws.ToString(c.ReplicationGroupId) == s.ReplicationGroup {
				mine = append(mine, c)
			}
		}
	} else {
		for _, c := range all {
			if aws.ToString(c.CacheClusterId) == s.Cluster {
				mine = append(mine, c)
			}
		}
		if len(mine) == 0 {
			return awssvc.NotFoundResult("cache cluster", s.Cluster, ref)
		}
	}
	ns, nparts := nodes(mine, sources)
	st, parts = check.Worst(st, ns), append(parts, nparts...)
	var lines []string
	if s.EventWindow > 0 {
		events, err := recentEvents(ctx, api, hub, ref, s.EventWindow)
		if err != nil {
			return awscheck.ErrorResult(ctx, ref, err)
		}
		es, el := awssvc.EventRule{Words: s.EventWords}.Grade(awssvc.Within(events, sources, s.EventWindow))
		st, lines = check.Worst(st, es), el
	}
	return check.Result{Status: st, Output: awssvc.Summary(parts, lines)}
}

// nodes grades the clusters and their cache nodes, and adds each cluster
// to the event sources.
func nodes(cs []types.CacheCluster, sources map[string]bool) (check.Status, []string) {
	st := check.OK
	var bad []string
	n := 0
	for _, c := range cs {
		id, status := aws.ToString(c.CacheClusterId), aws.ToString(c.CacheClusterStatus)
		sources[id] = true
		if g := Grade(status); g != check.OK {
			st = check.Worst(st, g)
			bad = append(bad, fmt.Sprintf("cluster %s %s", id, status))
		}
		for _, node := range c.CacheNodes {
			n++
			ns := aws.ToString(node.CacheNodeStatus)
			if g := Grade(ns); g != check.OK {
				st = check.Worst(st, g)
				bad = append(bad, fmt.Sprintf("node %s/%s %s", id, aws.ToString(node.CacheNodeId), ns))
			}
		}
	}
	sort.Strings(bad)
	parts := []string{fmt.Sprintf("%d clusters, %d nodes", len(cs), n)}
	if len(cs) == 1 {
		c := cs[0]
		parts = []string{fmt.Sprintf("cluster %s (%s %s) %s, %d nodes", aws.ToString(c.CacheClusterId), aws.ToString(c.Engine), aws.ToString(c.EngineVersion), aws.ToString(c.CacheClusterStatus), n)}
	}
	if len(bad) > 0 {
		parts = append(parts, strings.Join(bad, ", "))
	}
	return st, parts
}

// Grade maps a cluster, group or node status to a check status.
func Grade(status string) check.Status {
	switch status {
	case "available", "snapshotting":
		return check.OK
	case "deleted", "deleting", "incompatible-network", "restore-failed", "create-failed", "failed":
		return check.Critical
	}
	return check.Warning // creating, modifying, rebooting cache cluster nodes, rebooting…
}
