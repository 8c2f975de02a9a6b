package awshealthcheck

import (
	"context"
	"slices"

	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

func init() {
	awscheck.RegisterDiscoverer(&awscheck.Discoverer{Service: "health", Discover: discover, IAM: IAM[:1]})
}

// discover proposes one aws_health check per account: events of the
// account's regions and of global services (IAM, CloudFront, Route 53 …).
// Health is account-wide, so only the account's first region proposes it.
// It asks Health once, so that an account without the support plan the
// API needs, or without the permission, is reported instead of getting a
// check that could only be UNKNOWN.
func discover(ctx context.Context, h *cloudaws.Hub, ref cloudaws.Ref, _ map[string]string) ([]awscheck.Resource, error) {
	regions := []string{ref.Region}
	if a, ok := h.Account(ref.Account); ok && len(a.Regions) > 0 {
		if a.Regions[0] != ref.Region {
			return nil, nil
		}
		regions = slices.Clone(a.Regions)
	}
	regions = append(regions, "global")
	api, err := cloudaws.Client(ctx, h, ref, "health", NewClient)
	if err != nil {
		return nil, err
	}
	if _, err := api.DescribeEvents(ctx, EventFilter{EventStatusCodes: []string{"open", "upcoming"}, Regions: regions}); err != nil {
		return nil, err
	}
	name := "aws-health"
	if ref.Account != "" {
		name = ref.Account + "-health"
	}
	return []awscheck.Resource{{ID: "health", Name: "AWS Health", Checks: []awscheck.Proposal{
		awssvc.Proposal(name, "aws_health", "open issues and scheduled changes of the account's resources",
			awssvc.KV("regions", regions)),
	}}}, nil
}
