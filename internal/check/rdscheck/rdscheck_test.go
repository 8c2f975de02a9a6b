package rdscheck

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awscheck/awsfake"
	"github.com/mamori/mamori/internal/check/awssvc/svctest"
)

const arn = "arn:aws:rds:ap-northeast-1:123456789012:cluster:prod-db"

type world struct {
	cluster, writer, reader string // statuses
	events                  string // inner XML of <Events>
	pending                 string // inner XML of <PendingMaintenanceActionDetails>
}

func (w *world) serve(t *testing.T, f *awsfake.Server) {
	f.Handle("rds", "DescribeDBClusters", func(r *awsfake.Request) (any, error) {
		if r.Form.Get("DBClusterIdentifier") != "prod-db" {
			return nil, &awsfake.Error{Status: 404, Code: "DBClusterNotFoundFault", Message: "DBCluster " + r.Form.Get("DBClusterIdentifier") + " not found."}
		}
		return awsfake.XML(fmt.Sprintf(`<DBClusters><DBCluster><DBClusterIdentifier>prod-db</DBClusterIdentifier><DBClusterArn>%s</DBClusterArn><Engine>aurora-mysql</Engine><Status>%s</Status><DBClusterMembers><DBClusterMember><DBInstanceIdentifier>prod-db-1</DBInstanceIdentifier><IsClusterWriter>true</IsClusterWriter></DBClusterMember><DBClusterMember><DBInstanceIdentifier>prod-db-2</DBInstanceIdentifier><IsClusterWriter>false</IsClusterWriter></DBClusterMember></DBClusterMembers></DBCluster></DBClusters>`, arn, w.cluster)), nil
	})
	f.Handle("rds", "DescribeDBInstances", func(r *awsfake.Request) (any, error) {
		if r.Form.Get("Filters.Filter.1.Name") != "db-cluster-id" || r.Form.Get("Filters.Filter.1.Values.Value.1") != "prod-db" {
			t.Errorf("DescribeDBInstances filter: %v", r.Form)
		}
		return awsfake.XML(fmt.Sprintf(`<DBInstances><DBInstance><DBInstanceIdentifier>prod-db-1</DBInstanceIdentifier><DBInstanceStatus>%s</DBInstanceStatus></DBInstance><DBInstance><DBInstanceIdentifier>prod-db-2</DBInstanceIdentifier><DBInstanceStatus>%s</DBInstanceStatus></DBInstance></DBInstances>`, w.writer, w.reader)), nil
	})
	f.Handle("rds", "DescribePendingMaintenanceActions", func(r *awsfake.Request) (any, error) {
		if r.Form.Get("Filters.Filter.1.Values.Value.1") != arn {
			t.Errorf("DescribePendingMaintenanceActions filter: %v", r.Form)
		}
		inner := ""
		if w.pending != "" {
			inner = `<ResourcePendingMaintenanceActions><ResourceIdentifier>` + arn + `</ResourceIdentifier><PendingMaintenanceActionDetails>` + w.pending + `</PendingMaintenanceActionDetails></ResourcePendingMaintenanceActions>`
		}
		return awsfake.XML("<PendingMaintenanceActions>" + inner + "</PendingMaintenanceActions>"), nil
	})
	f.Handle("rds", "DescribeEvents", func(r *awsfake.Request) (any, error) {
		if _, err := time.Parse(time.RFC3339, r.Form.Get("StartTime")); err != nil {
			t.Errorf("DescribeEvents StartTime: %v", r.Form)
		}
		return awsfake.XML("<Events>" + w.events + "</Events>"), nil
	})
}

func event(source, category, msg string, ago time.Duration) string {
	return fmt.Sprintf(`<Event><SourceIdentifier>%s</SourceIdentifier><SourceType>db-cluster</SourceType><Message>%s</Message><EventCategories><EventCategory>%s</EventCategory></EventCategories><Date>%s</Date></Event>`,
		source, msg, category, time.Now().Add(-ago).UTC().Format(time.RFC3339))
}

func newSpec(f *awsfake.Server) *Spec {
	return &Spec{Target: svctest.Target(f), Cluster: "prod-db", EventWindow: DefaultEventWindow, EventCategories: DefaultEventCategories, Maintenance: true}
}

func TestRDS(t *testing.T) {
	cases := []struct {
		name string
		w    world
		want check.Status
		text []string
	}{
		{"healthy", world{cluster: "available", writer: "available", reader: "available",
			events: event("prod-db", "backup", "Backing up DB cluster", time.Minute) + event("prod-db", "failover", "old failover", 3*time.Hour)},
			check.OK, []string{"cluster prod-db (aurora-mysql) available", "2 instances, writer prod-db-1"}},
		{"failover", world{cluster: "available", writer: "available", reader: "available",
			events: event("prod-db", "failover", "Completed failover to DB instance: prod-db-2", 5*time.Minute) + event("other-db", "failover", "not ours", time.Minute)},
			check.Warning, []string{"events: ", "prod-db: Completed failover to DB instance: prod-db-2"}},
		{"maintenance", world{cluster: "available", writer: "available", reader: "available",
			pending: `<PendingMaintenanceAction><Action>system-update</Action><Description>New Operating System update is available</Description><CurrentApplyDate>2026-12-20T18:00:00Z</CurrentApplyDate></PendingMaintenanceAction>`},
			check.Warning, []string{"maintenance pending: system-update (New Operating System update is available, scheduled 2026-12-20 18:00 UTC)"}},
		{"reader rebooting", world{cluster: "available", writer: "available", reader: "rebooting"},
			check.Warning, []string{"instances prod-db-2 rebooting"}},
		{"failed", world{cluster: "inaccessible-encryption-credentials", writer: "failed", reader: "available"},
			check.Critical, []string{"cluster prod-db (aurora-mysql) inaccessible-encryption-credentials", "prod-db-1 failed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, env := svctest.Fake(t) // a fresh endpoint: the event cache is per endpoint
			c.w.serve(t, f)
			r := svctest.Check(t, env, "aws_rds", newSpec(f))
			if r.Status != c.want {
				t.Fatalf("status %s, want %s: %s", r.Status, c.want, r.Output)
			}
			for _, s := range c.text {
				if !strings.Contains(r.Output, s) {
					t.Errorf("output %q lacks %q", r.Output, s)
				}
			}
		})
	}
}

// TestRDSSharedEvents: checks of one account and region within a minute
// make one DescribeEvents call between them.
func TestRDSSharedEvents(t *testing.T) {
	f, env := svctest.Fake(t)
	(&world{cluster: "available", writer: "available", reader: "available"}).serve(t, f)
	for i := 0; i < 5; i++ {
		if r := svctest.Check(t, env, "aws_rds", newSpec(f)); r.Status != check.OK {
			t.Fatal(r.Output)
		}
	}
	if n := f.Calls("rds", "DescribeEvents"); n != 1 {
		t.Fatalf("DescribeEvents called %d times for 5 checks, want 1", n)
	}
}

func TestRDSAPIErrors(t *testing.T) {
	f, env := svctest.Fake(t)
	w := &world{cluster: "available", writer: "available", reader: "available"}
	w.serve(t, f)
	f.Handle("rds", "DescribePendingMaintenanceActions", func(*awsfake.Request) (any, error) {
		return nil, &awsfake.Error{Status: 403, Code: "AccessDenied", Message: "User is not authorized to perform: rds:DescribePendingMaintenanceActions"}
	})
	r := svctest.Check(t, env, "aws_rds", newSpec(f))
	if r.Status != check.Unknown || !strings.Contains(r.Output, "access denied") || !strings.Contains(r.Output, "rds:DescribePendingMaintenanceActions") {
		t.Fatalf("access denied: %s %q", r.Status, r.Output)
	}

	w.serve(t, f)
	ok := f.Calls("rds", "DescribeDBClusters")
	f.Fail("rds", "DescribeDBClusters", &awsfake.Error{Status: 400, Code: "Throttling", Message: "Rate exceeded"}, &awsfake.Error{Status: 400, Code: "Throttling", Message: "Rate exceeded"})
	f.Handle("rds", "DescribeDBClusters", func(r *awsfake.Request) (any, error) {
		return awsfake.XML(`<DBClusters><DBCluster><DBClusterIdentifier>prod-db</DBClusterIdentifier><DBClusterArn>` + arn + `</DBClusterArn><Status>available</Status></DBCluster></DBClusters>`), nil
	})
	r = svctest.Check(t, env, "aws_rds", newSpec(f))
	if r.Status != check.OK || f.Calls("rds", "DescribeDBClusters")-ok != 3 {
		t.Fatalf("throttled twice: %s %q after %d calls", r.Status, r.Output, f.Calls("rds", "DescribeDBClusters")-ok)
	}

	w.serve(t, f)
	s := newSpec(f)
	s.Cluster = "prod-db-in-tokyo"
	r = svctest.Check(t, env, "aws_rds", s)
	if r.Status != check.Critical || !strings.Contains(r.Output, "DB cluster prod-db-in-tokyo not found in region ap-northeast-1 (wrong region or account?)") {
		t.Fatalf("wrong region: %s %q", r.Status, r.Output)
	}
}

func TestRDSValidate(t *testing.T) {
	s := &Spec{Target: awscheck.Target{Region: "tokyo"}, EventWindow: -time.Second}
	if errs := s.Validate(); len(errs) != 3 {
		t.Fatalf("want region, cluster/instance and event_window errors, got %v", errs)
	}
}
