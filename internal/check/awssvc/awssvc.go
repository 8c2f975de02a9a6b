// Package awssvc is what the AWS service checks (RDS, ElastiCache, ELB, …)
// share beyond internal/check/awscheck: describe answers cached per Hub so
// that the checks of one account and region make one call between them,
// service events in one shape, and "no such resource" said plainly.
package awssvc

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

// NotFound reports whether err is an API error meaning "no such resource".
func NotFound(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	c := ae.ErrorCode()
	return strings.Contains(c, "NotFound") || strings.Contains(c, "DoesNotExist") || c == "NoSuchBucket" || c == "NoSuchKey"
}

// NotFoundResult is the result for a named resource the API does not know:
// CRITICAL (it may have been deleted), and most often a wrong region or
// account, which the text says.
func NotFoundResult(what, id string, ref cloudaws.Ref) check.Result {
	return check.Resultf(check.Critical, "%s %s not found in region %s (wrong region or account?)", what, id, ref.Region)
}

// When formats a date for an operator (UTC, to the minute).
func When(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") }

type cacheKey struct{}

type entry struct {
	done chan struct{}
	at   time.Time
	v    any
	err  error
}

type cache struct {
	mu sync.Mutex
	m  map[string]*entry
}

// Describe runs fn once for key within ttl and hands every caller of the
// Hub the same answer; concurrent callers wait for the one call. Errors
// are not kept: the next caller tries again. key must name the account,
// region and endpoint (Ref.String()) and the call.
func Describe[T any](ctx context.Context, h *cloudaws.Hub, key string, ttl time.Duration, fn func(context.Context) (T, error)) (T, error) {
	c := cloudaws.Shared(h, cacheKey{}, func() *cache { return &cache{m: map[string]*entry{}} })
	now := time.Now()
	c.mu.Lock()
	if e, ok := c.m[key]; ok && (e.at.IsZero() || now.Sub(e.at) < ttl) {
		c.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return *new(T), ctx.Err()
		}
		if e.err == nil {
			return e.v.(T), nil
		}
		return fn(ctx) // the shared call failed: try on our own
	}
	e := &entry{done: make(chan struct{})}
	c.m[key] = e
	for k, old := range c.m {
		if !old.at.IsZero() && now.Sub(old.at) > 10*time.Minute {
			delete(c.m, k)
		}
	}
	c.mu.Unlock()
	v, err := fn(ctx)
	c.mu.Lock()
	e.v, e.err, e.at = v, err, time.Now()
	if err != nil {
		delete(c.m, key)
	}
	c.mu.Unlock()
	close(e.done)
	return v, err
}

// HasTags reports whether have carries every tag of want (none: all do).
func HasTags(have, want map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}

// Proposal is one discovered check of a type of this family.
func Proposal(name, typ, comment string, fields ...awscheck.KV) awscheck.Proposal {
	return awscheck.Proposal{Name: name, Type: typ, Fields: fields, Comment: comment}
}

// KV is a proposal field.
func KV(k string, v any) awscheck.KV { return awscheck.KV{Key: k, Value: v} }

// WithTemplates appends the CloudWatch templates of service for resource id.
func WithTemplates(checks []awscheck.Proposal, service, name, id string, extra map[string]string) []awscheck.Proposal {
	for _, t := range TemplatesOf(service) {
		checks = append(checks, t.Proposal(name, id, extra))
	}
	return checks
}
