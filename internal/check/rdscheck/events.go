package rdscheck

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

// eventsTTL is how long one DescribeEvents answer serves every RDS check
// of the same account and region.
const eventsTTL = 60 * time.Second

// maxEventPages bounds one listing (100 events a page).
const maxEventPages = 20

// recentEvents lists the region's RDS events of the window, shared by all
// checks of the account and region for eventsTTL.
func recentEvents(ctx context.Context, api API, hub *cloudaws.Hub, ref cloudaws.Ref, window time.Duration) ([]awssvc.Event, error) {
	return awssvc.Describe(ctx, hub, "rds-events|"+ref.String()+"|"+window.String(), eventsTTL, func(ctx context.Context) ([]awssvc.Event, error) {
		in := &rds.DescribeEventsInput{StartTime: aws.Time(time.Now().Add(-window)), MaxRecords: aws.Int32(100)}
		p := rds.NewDescribeEventsPaginator(api, in)
		var out []awssvc.Event
		for n := 0; p.HasMorePages() && n < maxEventPages; n++ {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, e := range page.Events {
				ev := awssvc.Event{Source: aws.ToString(e.SourceIdentifier), Time: aws.ToTime(e.Date), Message: aws.ToString(e.Message)}
				for _, c := range e.EventCategories {
					ev.Categories = append(ev.Categories, strings.ToLower(c))
				}
				out = append(out, ev)
			}
		}
		return out, nil
	})
}

// maintenance lists the resource's pending maintenance: WARNING, naming
// each action and when it will be applied.
func (s *Spec) maintenance(ctx context.Context, api API, res resource) (check.Status, []string, error) {
	filter := "db-instance-id"
	if res.kind == "cluster" {
		filter = "db-cluster-id"
	}
	id := res.arn
	if id == "" {
		id = res.id
	}
	out, err := api.DescribePendingMaintenanceActions(ctx, &rds.DescribePendingMaintenanceActionsInput{
		Filters: []types.Filter{{Name: aws.String(filter), Values: []string{id}}}})
	if err != nil {
		return check.Unknown, nil, err
	}
	var parts []string
	for _, r := range out.PendingMaintenanceActions {
		for _, a := range r.PendingMaintenanceActionDetails {
			parts = append(parts, fmt.Sprintf("maintenance pending: %s%s", aws.ToString(a.Action), applyDate(a)))
		}
	}
	if len(parts) == 0 {
		return check.OK, nil, nil
	}
	return check.Warning, parts, nil
}

// applyDate is when a pending action will happen: the scheduled date if
// one is set, else the earlier of the auto-apply and forced dates.
func applyDate(a types.PendingMaintenanceAction) string {
	var dates []string
	if a.CurrentApplyDate != nil {
		dates = append(dates, "scheduled "+awssvc.When(*a.CurrentApplyDate))
	}
	if a.AutoAppliedAfterDate != nil {
		dates = append(dates, "auto-applied after "+awssvc.When(*a.AutoAppliedAfterDate))
	}
	if a.ForcedApplyDate != nil {
		dates = append(dates, "forced on "+awssvc.When(*a.ForcedApplyDate))
	}
	if d := aws.ToString(a.Description); d != "" {
		dates = append([]string{d}, dates...)
	}
	if len(dates) == 0 {
		return " (in the next maintenance window)"
	}
	return " (" + strings.Join(dates, ", ") + ")"
}
