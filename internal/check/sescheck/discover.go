package sescheck

import (
	"context"

	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

func init() {
	awscheck.RegisterDiscoverer(&awscheck.Discoverer{Service: "ses", Discover: discover, IAM: []string{"ses:GetSendStatistics"}})
}

// discover proposes the account's bounce and complaint rates; the send
// test needs a mailbox, which discovery cannot know (see docs/aws.md).
func discover(ctx context.Context, _ *cloudaws.Hub, ref cloudaws.Ref, tags map[string]string) ([]awscheck.Resource, error) {
	if len(tags) > 0 {
		return nil, nil // sending statistics are the account's, not a tagged resource's
	}
	return []awscheck.Resource{{ID: "ses-" + ref.Region, Name: "SES sending", Checks: []awscheck.Proposal{
		awssvc.Proposal("ses-rates-"+ref.Region, "aws_ses", "bounce and complaint rates; add from, to and mailbox_* for the send-and-receive test",
			awssvc.KV("rate_window", "24h"))}}}, nil
}
