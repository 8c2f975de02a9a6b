package elasticachecheck

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck/awsfake"
	"github.com/mamori/mamori/internal/check/awssvc/svctest"
)

type world struct {
	group, c1, c2, node string
	events              string
}

func cluster(id, status, node string) string {
	return fmt.Sprintf(`<CacheCluster><CacheClusterId>%s</CacheClusterId><ReplicationGroupId>sessions</ReplicationGroupId><Engine>valkey</Engine><EngineVersion>8.0</EngineVersion><CacheClusterStatus>%s</CacheClusterStatus><CacheNodes><CacheNode><CacheNodeId>0001</CacheNodeId><CacheNodeStatus>%s</CacheNodeStatus></CacheNode></CacheNodes></CacheCluster>`, id, status, node)
}

func (w *world) serve(t *testing.T, f *awsfake.Server) {
	f.Handle("elasticache", "DescribeCacheClusters", func(r *awsfake.Request) (any, error) {
		if r.Form.Get("ShowCacheNodeInfo") != "true" {
			t.Errorf("DescribeCacheClusters without ShowCacheNodeInfo: %v", r.Form)
		}
		return awsfake.XML("<CacheClusters>" + cluster("sessions-001", w.c1, "available") + cluster("sessions-002", w.c2, w.node) + "</CacheClusters>"), nil
	})
	f.Handle("elasticache", "DescribeReplicationGroups", func(r *awsfake.Request) (any, error) {
		if r.Form.Get("ReplicationGroupId") != "sessions" {
			return nil, &awsfake.Error{Status: 404, Code: "ReplicationGroupNotFoundFault", Message: "Replication group not found"}
		}
		return awsfake.XML(`<ReplicationGroups><ReplicationGroup><ReplicationGroupId>sessions</ReplicationGroupId><Status>` + w.group + `</Status><MemberClusters><ClusterId>sessions-001</ClusterId><ClusterId>sessions-002</ClusterId></MemberClusters></ReplicationGroup></ReplicationGroups>`), nil
	})
	f.Handle("elasticache", "DescribeEvents", func(r *awsfake.Request) (any, error) {
		return awsfake.XML("<Events>" + w.events + "</Events>"), nil
	})
}

func event(source, msg string, ago time.Duration) string {
	return fmt.Sprintf(`<Event><SourceIdentifier>%s</SourceIdentifier><SourceType>cache-cluster</SourceType><Message>%s</Message><Date>%s</Date></Event>`,
		source, msg, time.Now().Add(-ago).UTC().Format(time.RFC3339))
}

func newSpec(f *awsfake.Server) *Spec {
	return &Spec{Target: svctest.Target(f), ReplicationGroup: "sessions", EventWindow: DefaultEventWindow, EventWords: DefaultEventWords}
}

func TestElastiCache(t *testing.T) {
	cases := []struct {
		name string
		w    world
		want check.Status
		text string
	}{
		{"healthy", world{group: "available", c1: "available", c2: "available", node: "available",
			events: event("sessions-001", "Snapshot succeeded for snapshot with ID 'nightly'", time.Minute) + event("sessions-002", "Cache node 0001 restarted", 2*time.Hour)},
			check.OK, "replication group sessions available; 2 clusters, 2 nodes"},
		{"node recovering", world{group: "available", c1: "available", c2: "available", node: "available",
			events: event("sessions-002", "Recovering cache nodes 0001", 3*time.Minute)},
			check.Warning, "sessions-002: Recovering cache nodes 0001"},
		{"failover", world{group: "available", c1: "available", c2: "available", node: "available",
			events: event("sessions", "Failover from primary node sessions-001 to replica node sessions-002 completed", 3*time.Minute)},
			check.Warning, "Failover from primary node"},
		{"node rebooting", world{group: "modifying", c1: "available", c2: "rebooting cache cluster nodes", node: "rebooting"},
			check.Warning, "node sessions-002/0001 rebooting"},
		{"broken", world{group: "available", c1: "incompatible-network", c2: "available", node: "available"},
			check.Critical, "cluster sessions-001 incompatible-network"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, env := svctest.Fake(t)
			c.w.serve(t, f)
			r := svctest.Check(t, env, "aws_elasticache", newSpec(f))
			if r.Status != c.want || !strings.Contains(r.Output, c.text) {
				t.Fatalf("got %s %q, want %s containing %q", r.Status, r.Output, c.want, c.text)
			}
		})
	}
}

func TestElastiCacheAPIErrors(t *testing.T) {
	f, env := svctest.Fake(t)
	w := &world{group: "available", c1: "available", c2: "available", node: "available"}
	w.serve(t, f)
	f.Fail("elasticache", "DescribeCacheClusters", &awsfake.Error{Status: 400, Code: "Throttling", Message: "Rate exceeded"})
	f.Handle("elasticache", "DescribeCacheClusters", func(*awsfake.Request) (any, error) {
		return awsfake.XML("<CacheClusters>" + cluster("sessions-001", "available", "available") + "</CacheClusters>"), nil
	})
	s := newSpec(f)
	s.ReplicationGroup, s.Cluster = "", "sessions-001"
	if r := svctest.Check(t, env, "aws_elasticache", s); r.Status != check.OK || f.Calls("elasticache", "DescribeCacheClusters") != 2 {
		t.Fatalf("throttled once: %s %q", r.Status, r.Output)
	}
	s.Cluster = "sessions-009"
	if r := svctest.Check(t, env, "aws_elasticache", s); r.Status != check.Critical || !strings.Contains(r.Output, "cache cluster sessions-009 not found in region ap-northeast-1") {
		t.Fatalf("not found: %s %q", r.Status, r.Output)
	}
	f.Handle("elasticache", "DescribeReplicationGroups", func(*awsfake.Request) (any, error) {
		return nil, &awsfake.Error{Status: 403, Code: "AccessDenied", Message: "not authorized to perform elasticache:DescribeReplicationGroups"}
	})
	if r := svctest.Check(t, env, "aws_elasticache", newSpec(f)); r.Status != check.Unknown || !strings.Contains(r.Output, "lack the IAM permission elasticache:DescribeReplicationGroups") {
		t.Fatalf("access denied: %s %q", r.Status, r.Output)
	}
}
