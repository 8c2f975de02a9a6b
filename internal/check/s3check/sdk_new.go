package s3check

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// newClient makes the S3 client. A custom endpoint (VPC interface
// endpoint, S3-compatible store, tests) takes the bucket in the path, not
// in the host name.
func newClient(c aws.Config) s3Client {
	return wrapS3Client(s3.NewFromConfig(c, func(o *s3.Options) {
		o.UsePathStyle = c.BaseEndpoint != nil
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}))
}
