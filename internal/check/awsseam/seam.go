// Package awsseam is what the AWS service checks share: where a check's
// calls go (account, region, endpoint), how API errors become results, and
// a short-lived cache that lets checks of one account share describe calls.
package awsseam

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"
	"github.com/mamori/mamori/internal/check"
)

// Target names where a check's API calls go.
type Target struct {
	Account     string `yaml:"account" help:"aws_accounts entry whose credentials the check uses (default: the SDK's default chain)"`
	Region      string `yaml:"region" help:"AWS region, e.g. ap-northeast-1 (default: the account's first region or AWS_REGION)"`
	EndpointURL string `yaml:"endpoint_url" help:"API endpoint override (VPC endpoint; tests)"`
}

var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)

// Validate reports problems with the target.
func (t Target) Validate() []check.FieldError {
	var errs []check.FieldError
	if t.Region != "" && !regionRE.MatchString(t.Region) {
		errs = append(errs, check.Errf("region", "%q is not an AWS region name (like ap-northeast-1)", t.Region))
	}
	if t.EndpointURL != "" && !strings.HasPrefix(t.EndpointURL, "http://") && !strings.HasPrefix(t.EndpointURL, "https://") {
		errs = append(errs, check.Errf("endpoint_url", "must be an http:// or https:// URL"))
	}
	return errs
}

// Config builds the SDK configuration for the target.
func (t Target) Config(ctx context.Context) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{}
	if t.Region != "" {
		opts = append(opts, config.WithRegion(t.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, err
	}
	if t.EndpointURL != "" {
		cfg.BaseEndpoint = aws.String(t.EndpointURL)
	}
	if cfg.Region == "" {
		return cfg, errors.New("no region: set region on the check or AWS_REGION")
	}
	cfg.Retryer = func() aws.Retryer { return retry.NewStandard() }
	return cfg, nil
}

// Key identifies the target for shared caches.
func (t Target) Key(cfg aws.Config) string {
	return t.Account + "|" + cfg.Region + "|" + t.EndpointURL
}

// Fail turns an API error of action (an IAM action such as
// "rds:DescribeDBClusters") into a result: the check could not decide, so
// it is UNKNOWN, naming what the operator must fix.
func Fail(ctx context.Context, err error, action, region string) check.Result {
	return check.Result{Status: check.Unknown, Output: check.OneLine(Explain(ctx, err, action, region))}
}

// Explain describes an API error for a person.
func Explain(ctx context.Context, err error, action, region string) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		switch {
		case strings.Contains(code, "AccessDenied") || code == "UnauthorizedOperation" || code == "AuthorizationError" || code == "UnauthorizedException":
			return fmt.Sprintf("access denied: the credentials may not call %s (%s: %s)", action, code, ae.ErrorMessage())
		case isThrottle(code):
			return fmt.Sprintf("%s throttled by AWS, still after retries (%s)", action, code)
		case code == "UnrecognizedClientException" || code == "InvalidClientTokenId" || code == "SignatureDoesNotMatch" || code == "AuthFailure":
			return fmt.Sprintf("%s: credentials rejected (%s: %s)", action, code, ae.ErrorMessage())
		}
		return fmt.Sprintf("%s failed: %s: %s", action, code, ae.ErrorMessage())
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Sprintf("%s: cannot resolve the endpoint %s: is region %q right?", action, dnsErr.Name, region)
	}
	if ctx.Err() != nil {
		return fmt.Sprintf("%s: no answer in time (region %s)", action, region)
	}
	return fmt.Sprintf("%s failed: %v", action, err)
}

func isThrottle(code string) bool {
	switch code {
	case "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
		"TooManyRequestsException", "RequestLimitExceeded", "RequestThrottled", "SlowDown":
		return true
	}
	return false
}

// NotFound reports whether err is an API error meaning "no such resource".
func NotFound(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	c := ae.ErrorCode()
	return strings.Contains(c, "NotFound") || strings.Contains(c, "DoesNotExist") || strings.HasPrefix(c, "InvalidVpnConnectionID") || c == "NoSuchBucket" || c == "NoSuchKey"
}

// NotFoundResult is the result for a named resource the API does not know:
// most often a wrong region or account.
func NotFoundResult(what, id, region string) check.Result {
	return check.Resultf(check.Critical, "%s %s not found in region %s (wrong region or account?)", what, id, region)
}

// cache shares describe answers between checks of one account and region
// within a short time, so that N checks of one interval make one call.
type entry struct {
	done chan struct{}
	at   time.Time
	v    any
	err  error
}

var (
	cacheMu sync.Mutex
	cache   = map[string]*entry{}
)

// Shared runs fn once for key within ttl and hands every caller the same
// answer. Errors are not kept: the next caller tries again.
func Shared[T any](ctx context.Context, key string, ttl time.Duration, fn func(context.Context) (T, error)) (T, error) {
	now := time.Now()
	cacheMu.Lock()
	e, ok := cache[key]
	if ok && e.err == nil && now.Sub(e.at) < ttl || ok && e.at.IsZero() {
		cacheMu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
		if e.err == nil {
			return e.v.(T), nil
		}
		return fn(ctx)
	}
	e = &entry{done: make(chan struct{})}
	cache[key] = e
	for k, old := range cache {
		if !old.at.IsZero() && now.Sub(old.at) > 10*time.Minute {
			delete(cache, k)
		}
	}
	cacheMu.Unlock()
	v, err := fn(ctx)
	cacheMu.Lock()
	e.v, e.err, e.at = v, err, time.Now()
	if err != nil {
		delete(cache, key)
	}
	cacheMu.Unlock()
	close(e.done)
	return v, err
}
