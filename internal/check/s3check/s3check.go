// Package s3check is the "aws_s3" check type: whether a bucket can be
// listed (ListObjectsV2) and a chosen object fetched (GetObject), how long
// that takes, and optionally how old the object is (a backup that stopped
// arriving). Bucket size is CloudWatch's daily AWS/S3 BucketSizeBytes
// metric, watched with the cloudwatch check (see docs/aws.md): summing a
// listing would cost one request per 1,000 objects every interval.
package s3check

//go:generate go run ../../tools/sdkwrap -type s3Client github.com/aws/aws-sdk-go-v2/service/s3 GetBucketTagging GetObject ListObjectsV2 ListBuckets

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

// maxRead bounds how much of the object is read (the rest is not fetched).
const maxRead = 16 << 20

func init() {
	check.Register(&check.Kind{
		Name:    "aws_s3",
		Label:   "AWS S3",
		Summary: "S3 bucket listing and object fetch (ListObjectsV2, GetObject): response time and object age",
		Scope:   check.ScopeServer,
		Timeout: 30 * time.Second,
		New:     func() check.Spec { return &Spec{Warning: 5 * time.Second, Critical: 15 * time.Second} },
	})
}

// Spec is the aws_s3 check's configuration.
type Spec struct {
	awscheck.Target
	Bucket   string        `yaml:"bucket" required:"true" help:"bucket name"`
	Prefix   string        `yaml:"prefix" help:"list only keys under this prefix"`
	Key      string        `yaml:"key" help:"object to fetch (default: list only)"`
	MaxAge   time.Duration `yaml:"max_age" help:"CRITICAL when the object was last modified longer ago (0: not checked)"`
	Warning  time.Duration `yaml:"warning" help:"WARNING when list and get take longer"`
	Critical time.Duration `yaml:"critical" help:"CRITICAL when list and get take longer"`
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	errs := s.Target.Validate()
	if l := len(s.Bucket); l < 3 || l > 63 {
		errs = append(errs, check.Errf("bucket", "must be a bucket name (3 to 63 characters)"))
	}
	if s.MaxAge > 0 && s.Key == "" {
		errs = append(errs, check.Errf("max_age", "needs key: the object whose age is checked"))
	}
	if s.Warning > 0 && s.Critical > 0 && s.Warning > s.Critical {
		errs = append(errs, check.Errf("warning", "%s is above critical %s", s.Warning, s.Critical))
	}
	return errs
}

// API is what the check needs of the S3 client.
type API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opt ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opt ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	sp, hub := *s, awscheck.HubOf(env)
	return check.CheckerFunc(func(ctx context.Context) check.Result {
		api, ref, err := awscheck.Client(ctx, hub, &sp.Target, "s3", newClient)
		if err != nil {
			return awscheck.ConfigError(err)
		}
		return sp.Run(ctx, api, ref, time.Now())
	}), nil
}

// Run lists the bucket and fetches the object.
func (s *Spec) Run(ctx context.Context, api API, ref cloudaws.Ref, now time.Time) check.Result {
	start := time.Now()
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), MaxKeys: aws.Int32(1000)}
	if s.Prefix != "" {
		in.Prefix = aws.String(s.Prefix)
	}
	list, err := api.ListObjectsV2(ctx, in)
	if awssvc.NotFound(err) {
		return awssvc.NotFoundResult("bucket", s.Bucket, ref)
	}
	if err != nil {
		return denied(ctx, ref, err, "s3:ListBucket")
	}
	more := ""
	if aws.ToBool(list.IsTruncated) {
		more = "+"
	}
	text := fmt.Sprintf("s3://%s/%s: %d%s objects listed", s.Bucket, s.Prefix, len(list.Contents), more)
	perf := []check.Metric{check.M("objects", float64(len(list.Contents)), "")}
	st := check.OK
	if s.Key != "" {
		ks, ktext, kperf, res := s.get(ctx, api, ref, now)
		if res != nil {
			return *res
		}
		st, text, perf = ks, text+"; "+ktext, append(perf, kperf...)
	}
	took := time.Since(start)
	st = check.Worst(st, check.ByDuration(took, s.Warning, s.Critical))
	r := check.Resultf(st, "%s in %s", text, took.Round(time.Millisecond))
	return r.With(append([]check.Metric{check.Seconds("time", took, s.Warning, s.Critical)}, perf...)...)
}

func (s *Spec) get(ctx context.Context, api API, ref cloudaws.Ref, now time.Time) (check.Status, string, []check.Metric, *check.Result) {
	obj, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.Key)})
	if awssvc.NotFound(err) {
		r := check.Resultf(check.Critical, "s3://%s/%s does not exist", s.Bucket, s.Key)
		return 0, "", nil, &r
	}
	if err != nil {
		r := denied(ctx, ref, err, "s3:GetObject")
		return 0, "", nil, &r
	}
	defer obj.Body.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(obj.Body, maxRead))
	if err != nil {
		r := check.Resultf(check.Critical, "s3://%s/%s: reading the object failed after %d bytes: %v", s.Bucket, s.Key, n, err)
		return 0, "", nil, &r
	}
	text := fmt.Sprintf("got %s (%d bytes)", s.Key, n)
	perf := []check.Metric{check.M("size", float64(aws.ToInt64(obj.ContentLength)), "B")}
	st := check.OK
	if obj.LastModified != nil {
		age := now.Sub(*obj.LastModified)
		text += ", modified " + awssvc.When(*obj.LastModified)
		if s.MaxAge > 0 && age > s.MaxAge {
			st = check.Critical
			text += fmt.Sprintf(", older than %s", s.MaxAge)
		}
		perf = append(perf, check.Metric{Label: "age", Value: age.Round(time.Second).Seconds(), Unit: "s", Warn: check.NaN, Crit: nonzero(s.MaxAge), Min: 0, Max: check.NaN})
	}
	return st, text, perf, nil
}

func nonzero(d time.Duration) float64 {
	if d == 0 {
		return check.NaN
	}
	return d.Seconds()
}

// denied is ErrorResult with S3's IAM action named: access to ListObjectsV2
// is granted as s3:ListBucket, not by the operation's name.
func denied(ctx context.Context, ref cloudaws.Ref, err error, action string) check.Result {
	if cloudaws.IsAccessDenied(err) {
		return check.Resultf(check.Unknown, "%s: access denied: the credentials lack the IAM permission %s on the bucket; grant it (see docs/aws.md)", ref, action)
	}
	return awscheck.ErrorResult(ctx, ref, err)
}
