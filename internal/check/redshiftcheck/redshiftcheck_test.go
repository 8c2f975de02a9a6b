package redshiftcheck

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awsseam/awsfake"
)

func serve(f *awsfake.Server, status, avail, events string) {
	f.Handle("DescribeClusters", func(r *awsfake.Request) awsfake.Reply {
		if r.Form.Get("ClusterIdentifier") != "dwh" {
			return awsfake.QueryError(404, "ClusterNotFound", "Cluster "+r.Form.Get("ClusterIdentifier")+" not found.")
		}
		return awsfake.XML("DescribeClusters", fmt.Sprintf(`<Clusters><Cluster><ClusterIdentifier>dwh</ClusterIdentifier><ClusterStatus>%s</ClusterStatus><ClusterAvailabilityStatus>%s</ClusterAvailabilityStatus><ClusterNodes><member><NodeRole>LEADER</NodeRole></member><member><NodeRole>COMPUTE-0</NodeRole></member></ClusterNodes></Cluster></Clusters>`, status, avail))
	})
	f.Handle("DescribeEvents", func(*awsfake.Request) awsfake.Reply {
		return awsfake.XML("DescribeEvents", "<Events>"+events+"</Events>")
	})
}

func event(category, severity, msg string, ago time.Duration) string {
	return fmt.Sprintf(`<Event><SourceIdentifier>dwh</SourceIdentifier><SourceType>cluster</SourceType><Message>%s</Message><EventCategories><EventCategory>%s</EventCategory></EventCategories><Severity>%s</Severity><Date>%s</Date></Event>`,
		msg, category, severity, time.Now().Add(-ago).UTC().Format(time.RFC3339))
}

func newSpec(f *awsfake.Server) *Spec {
	return &Spec{Target: awsfake.Target(f), Cluster: "dwh", EventWindow: DefaultEventWindow, EventCategories: DefaultEventCategories, EventWords: DefaultEventWords}
}

func TestRedshift(t *testing.T) {
	awsfake.Env(t)
	cases := []struct {
		name, status, avail, events string
		want                        check.Status
		text                        string
	}{
		{"healthy", "available", "Available", event("management", "INFO", "Cluster dwh completed resize", time.Minute), check.OK, "cluster dwh available (Available), 2 nodes"},
		{"node replaced", "available", "Available", event("monitoring", "INFO", "A hardware issue was detected on Amazon Redshift cluster dwh. A replacement request was initiated", 5*time.Minute), check.Warning, "hardware issue"},
		{"maintenance scheduled", "available", "Available", event("pending", "INFO", "Cluster dwh is scheduled for maintenance at 2026-12-20 18:00 UTC", 5*time.Minute), check.Warning, "scheduled for maintenance"},
		{"unavailable", "hardware-failure", "Unavailable", "", check.Critical, "cluster dwh hardware-failure (Unavailable)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := awsfake.New(t)
			serve(f, c.status, c.avail, c.events)
			r := f.Check(t, "aws_redshift", newSpec(f))
			if r.Status != c.want || !strings.Contains(r.Output, c.text) {
				t.Fatalf("got %s %q, want %s containing %q", r.Status, r.Output, c.want, c.text)
			}
		})
	}
}

func TestRedshiftAPIErrors(t *testing.T) {
	awsfake.Env(t)
	f := awsfake.New(t)
	serve(f, "available", "Available", "")
	s := newSpec(f)
	s.Cluster = "dwh-us"
	if r := f.Check(t, "aws_redshift", s); r.Status != check.Critical || !strings.Contains(r.Output, "Redshift cluster dwh-us not found in region ap-northeast-1") {
		t.Fatalf("not found: %s %q", r.Status, r.Output)
	}
	f.Handle("DescribeEvents", awsfake.Throttle(1, awsfake.QueryError(400, "Throttling", "Rate exceeded"), func(*awsfake.Request) awsfake.Reply {
		return awsfake.XML("DescribeEvents", "<Events></Events>")
	}))
	if r := f.Check(t, "aws_redshift", newSpec(f)); r.Status != check.OK || f.Calls("DescribeEvents") != 2 {
		t.Fatalf("throttled once: %s %q", r.Status, r.Output)
	}
	f.Handle("DescribeClusters", func(*awsfake.Request) awsfake.Reply {
		return awsfake.QueryError(403, "AccessDenied", "not authorized")
	})
	if r := f.Check(t, "aws_redshift", newSpec(f)); r.Status != check.Unknown || !strings.Contains(r.Output, "redshift:DescribeClusters") {
		t.Fatalf("access denied: %s %q", r.Status, r.Output)
	}
}
