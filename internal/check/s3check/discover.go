package s3check

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

func init() {
	awscheck.RegisterDiscoverer(&awscheck.Discoverer{Service: "s3", Discover: discover,
		IAM: []string{"s3:ListAllMyBuckets", "s3:GetBucketTagging"}})
}

// discover proposes per bucket of the region the aws_s3 listing check and
// its size (CloudWatch, daily).
func discover(ctx context.Context, h *cloudaws.Hub, ref cloudaws.Ref, tags map[string]string) ([]awscheck.Resource, error) {
	api, err := cloudaws.Client(ctx, h, ref, "s3", newClient)
	if err != nil {
		return nil, err
	}
	var out []awscheck.Resource
	p := s3.NewListBucketsPaginator(api, &s3.ListBucketsInput{BucketRegion: aws.String(ref.Region)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, b := range page.Buckets {
			name := aws.ToString(b.Name)
			if len(tags) > 0 {
				have, err := bucketTags(ctx, api, name)
				if err != nil {
					return nil, err
				}
				if !awssvc.HasTags(have, tags) {
					continue
				}
			}
			checks := []awscheck.Proposal{awssvc.Proposal("s3-"+name, "aws_s3", "bucket can be listed (add key: to fetch an object, max_age: for backups)", awssvc.KV("bucket", name))}
			out = append(out, awscheck.Resource{ID: name, Name: name, Checks: awssvc.WithTemplates(checks, "s3", "s3-"+name, name, nil)})
		}
	}
	return out, nil
}

func bucketTags(ctx context.Context, api s3Client, bucket string) (map[string]string, error) {
	t, err := api.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchTagSet" {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	have := map[string]string{}
	for _, tg := range t.TagSet {
		have[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return have, nil
}
