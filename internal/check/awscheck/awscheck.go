// Package awscheck is what every AWS check type shares: the target fields
// (account, region, endpoint_url), the Hub that gives them SDK clients, and
// the mapping of API errors to results (access denied → UNKNOWN naming the
// IAM action to grant; throttling retried by the SDK, then UNKNOWN; a wrong
// region said plainly).
package awscheck

import (
	"context"
	"errors"
	"fmt"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/cloud"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

// Target is embedded by every AWS check spec: which account, region and
// endpoint its API calls go to.
type Target struct {
	Account     string `yaml:"account" help:"aws_accounts entry to use (default: the server's own credentials: environment, profile, SSO or instance role)"`
	Region      string `yaml:"region" help:"region (default: the account's first region, else AWS_REGION)"`
	EndpointURL string `yaml:"endpoint_url" help:"API endpoint instead of AWS's public ones (VPC endpoints, tests)"`
}

// CloudAccount implements check.AccountUser: the config loader checks the
// account exists and belongs to the check's tenant.
func (t *Target) CloudAccount() (provider, name string) { return "aws", t.Account }

// Validate reports problems with the target fields.
func (t *Target) Validate() []check.FieldError {
	var errs []check.FieldError
	if t.Region != "" && !cloud.ValidRegion(t.Region) {
		errs = append(errs, check.Errf("region", "%q is not a region name (e.g. ap-northeast-1)", t.Region))
	}
	if t.EndpointURL != "" {
		if msg := cloud.ValidEndpoint(t.EndpointURL); msg != "" {
			errs = append(errs, check.Errf("endpoint_url", "%s", msg))
		}
	}
	return errs
}

// Ref is the target as the Hub takes it.
func (t *Target) Ref() cloudaws.Ref {
	return cloudaws.Ref{Account: t.Account, Region: t.Region, EndpointURL: t.EndpointURL}
}

type hubKey struct{}

// Share puts the process's Hub where check types find it (check.Env.Shared).
func Share(m check.SharedMap, h *cloudaws.Hub) { m[hubKey{}] = h }

// HubOf returns the process's Hub from env; outside the server (`mamori
// check`) a Hub of the environment's credentials.
func HubOf(env check.Env) *cloudaws.Hub {
	if env.Shared != nil {
		if v, ok := env.Shared.Lookup(hubKey{}); ok {
			if h, ok := v.(*cloudaws.Hub); ok {
				return h
			}
		}
	}
	var opts []cloudaws.Option
	if env.Logger != nil {
		opts = append(opts, cloudaws.WithLogger(env.Logger))
	}
	return cloudaws.NewHub(nil, opts...)
}

// Client is cloudaws.Client for a check's target: the service client shared
// by every check of the same account, region and endpoint.
func Client[T any](ctx context.Context, h *cloudaws.Hub, t *Target, service string, build func(sdkaws.Config) T) (T, cloudaws.Ref, error) {
	ref, err := h.Resolve(ctx, t.Ref())
	if err != nil {
		return *new(T), ref, err
	}
	c, err := cloudaws.Client(ctx, h, ref, service, build)
	return c, ref, err
}

// ErrorResult turns a failed API call into the check's result: UNKNOWN (the
// check could not decide), saying what to do about it.
func ErrorResult(ctx context.Context, ref cloudaws.Ref, err error) check.Result {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return check.Resultf(check.Unknown, "%s: AWS API did not answer in time: %s", ref, check.ErrText(ctx, err))
	}
	return check.Resultf(check.Unknown, "%s: %s", ref, cloudaws.Explain(err, ref.Region))
}

// ConfigError is the result of a target that cannot be resolved (unknown
// account, no region).
func ConfigError(err error) check.Result {
	return check.Resultf(check.Unknown, "%s", fmt.Sprint(err))
}
