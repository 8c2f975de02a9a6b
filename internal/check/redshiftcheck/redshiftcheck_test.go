package redshiftcheck

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck/awsfake"
	"github.com/mamori/mamori/internal/check/awssvc/svctest"
)

func serve(f *awsfake.Server, status, avail, events string) {
	f.Handle("redshift", "DescribeClusters", func(r *awsfake.Request) (any, error) {
		if r.Form.Get("ClusterIdentifier") != "dwh" {
			return nil, &awsfake.Error{Status: 404, Code: "ClusterNotFound", Message: "Cluster " + r.Form.Get("ClusterIdentifier") + " not found."}
		}
		return awsfake.XML(fmt.Sprintf(`<Clusters><Cluster><ClusterIdentifier>dwh</ClusterIdentifier><ClusterStatus>%s</ClusterStatus><ClusterAvailabilityStatus>%s</ClusterAvailabilityStatus><ClusterNodes><member><NodeRole>LEADER</NodeRole></member><member><NodeRole>COMPUTE-0</NodeRole></member></ClusterNodes></Cluster></Clusters>`, status, avail)), nil
	})
	f.Handle("redshift", "DescribeEvents", func(*awsfake.Request) (any, error) {
		return awsfake.XML("<Events>" + events + "</Events>"), nil
	})
}

func event(category, severity, msg string, ago time.Duration) string {
	return fmt.Sprintf(`<Event><SourceIdentifier>dwh</SourceIdentifier><SourceType>cluster</SourceType><Message>%s</Message><EventCategories><EventCategory>%s</EventCategory></EventCategories><Severity>%s</Severity><Date>%s</Date></Event>`,
		msg, category, severity, time.Now().Add(-ago).UTC().Format(time.RFC3339))
}

func newSpec(f *awsfake.Server) *Spec {
	return &Spec{Target: svctest.Target(f), Cluster: "dwh", EventWindow: DefaultEventWindow, EventCategories: DefaultEventCategories, EventWords: DefaultEventWords}
}

func TestRedshift(t *testing.T) {
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
			f, env := svctest.Fake(t)
			serve(f, c.status, c.avail, c.events)
			r := svctest.Check(t, env, "aws_redshift", newSpec(f))
			if r.Status != c.want || !strings.Contains(r.Output, c.text) {
				t.Fatalf("got %s %q, want %s containing %q", r.Status, r.Output, c.want, c.text)
			}
		})
	}
}

func TestRedshiftAPIErrors(t *testing.T) {
	f, env := svctest.Fake(t)
	serve(f, "available", "Available", "")
	s := newSpec(f)
	s.Cluster = "dwh-us"
	if r := svctest.Check(t, env, "aws_redshift", s); r.Status != check.Critical || !strings.Contains(r.Output, "Redshift cluster dwh-us not found in region ap-northeast-1") {
		t.Fatalf("not found: %s %q", r.Status, r.Output)
	}
	f.Fail("redshift", "DescribeEvents", &awsfake.Error{Status: 400, Code: "Throttling", Message: "Rate exceeded"})
	f.Handle("redshift", "DescribeEvents", func(*awsfake.Request) (any, error) {
		return awsfake.XML("<Events></Events>"), nil
	})
	if r := svctest.Check(t, env, "aws_redshift", newSpec(f)); r.Status != check.OK || f.Calls("redshift", "DescribeEvents") != 2 {
		t.Fatalf("throttled once: %s %q", r.Status, r.Output)
	}
	f.Handle("redshift", "DescribeClusters", func(*awsfake.Request) (any, error) {
		return nil, &awsfake.Error{Status: 403, Code: "AccessDenied", Message: "not authorized"}
	})
	if r := svctest.Check(t, env, "aws_redshift", newSpec(f)); r.Status != check.Unknown || !strings.Contains(r.Output, "redshift:DescribeClusters") {
		t.Fatalf("access denied: %s %q", r.Status, r.Output)
	}
}
