package logscheck

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

// lambdaPrefix is where Lambda writes each function's log group.
const lambdaPrefix = "/aws/lambda/"

func init() {
	awscheck.RegisterDiscoverer(&awscheck.Discoverer{Service: "lambda", Discover: discoverLambda,
		IAM: []string{"logs:DescribeLogGroups", "logs:ListTagsForResource"}})
}

// discoverLambda finds functions by their log groups (/aws/lambda/NAME):
// per function the error, throttle, duration and invocation metrics and a
// log check for errors, timeouts and crashes.
func discoverLambda(ctx context.Context, h *cloudaws.Hub, ref cloudaws.Ref, tags map[string]string) ([]awscheck.Resource, error) {
	api, err := cloudaws.Client(ctx, h, ref, "logs", newLogs)
	if err != nil {
		return nil, err
	}
	var out []awscheck.Resource
	p := cwl.NewDescribeLogGroupsPaginator(api, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(lambdaPrefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, g := range page.LogGroups {
			group := aws.ToString(g.LogGroupName)
			if len(tags) > 0 {
				t, err := api.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: aws.String(strings.TrimSuffix(aws.ToString(g.Arn), ":*"))})
				if err != nil {
					return nil, err
				}
				if !awssvc.HasTags(t.Tags, tags) {
					continue
				}
			}
			fn := strings.TrimPrefix(group, lambdaPrefix)
			checks := []awscheck.Proposal{awssvc.Proposal("lambda-"+fn+"-log", "aws_logs", "errors, timeouts and crashes in the function's log",
				awssvc.KV("log_group", group), awssvc.KV("filter_pattern", `?ERROR ?Exception ?"Task timed out" ?"Runtime exited"`))}
			out = append(out, awscheck.Resource{ID: fn, Name: fn, Checks: awssvc.WithTemplates(checks, "lambda", "lambda-"+fn, fn, nil)})
		}
	}
	return out, nil
}
