package directorycheck

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	ds "github.com/aws/aws-sdk-go-v2/service/directoryservice"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

func init() {
	awscheck.RegisterDiscoverer(&awscheck.Discoverer{Service: "ds", Discover: discover,
		IAM: []string{"ds:DescribeDirectories", "ds:ListTagsForResource"}})
}

// discover proposes the aws_directory check per directory.
func discover(ctx context.Context, h *cloudaws.Hub, ref cloudaws.Ref, tags map[string]string) ([]awscheck.Resource, error) {
	api, err := cloudaws.Client(ctx, h, ref, "ds", newDS)
	if err != nil {
		return nil, err
	}
	var out []awscheck.Resource
	p := ds.NewDescribeDirectoriesPaginator(api, &ds.DescribeDirectoriesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, d := range page.DirectoryDescriptions {
			id := aws.ToString(d.DirectoryId)
			if len(tags) > 0 {
				t, err := api.ListTagsForResource(ctx, &ds.ListTagsForResourceInput{ResourceId: d.DirectoryId})
				if err != nil {
					return nil, err
				}
				have := map[string]string{}
				for _, tg := range t.Tags {
					have[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
				}
				if !awssvc.HasTags(have, tags) {
					continue
				}
			}
			out = append(out, awscheck.Resource{ID: id, Name: aws.ToString(d.Name), Checks: []awscheck.Proposal{
				awssvc.Proposal("directory-"+id, "aws_directory", "directory stage", awssvc.KV("directory_id", id))}})
		}
	}
	return out, nil
}
