// Package svctest runs AWS service checks against the awsfake server in
// tests, the way the server runs them: one Hub shared by the checks.
package svctest

import (
	"context"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awscheck/awsfake"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

type quickBackoff struct{}

func (quickBackoff) BackoffDelay(int, error) (time.Duration, error) { return time.Millisecond, nil }

// Fake starts an awsfake server, points the environment's credentials at it
// and returns it with a check environment whose Hub (default chain, retries
// without delay) every check of the test shares.
func Fake(t testing.TB) (*awsfake.Server, check.Env) {
	f := awsfake.New(t)
	f.Env(t)
	return f, NewEnv()
}

// NewEnv is a check environment with a Hub of its own (default chain,
// retries without delay): nothing cached from other runs.
func NewEnv() check.Env {
	m := check.SharedMap{}
	awscheck.Share(m, cloudaws.NewHub(nil, cloudaws.WithBackoff(quickBackoff{})))
	return check.Env{Shared: m}
}

// Target points a check at the fake.
func Target(f *awsfake.Server) awscheck.Target { return awscheck.Target{EndpointURL: f.URL} }

// Check validates spec, builds its checker in env and runs it once as
// check type kind runs.
func Check(t testing.TB, env check.Env, kind string, spec check.Spec) check.Result {
	t.Helper()
	if errs := spec.Validate(); len(errs) > 0 {
		t.Fatalf("validate: %v", errs)
	}
	k, ok := check.Lookup(kind)
	if !ok {
		t.Fatalf("no check type %s", kind)
	}
	c, err := spec.New(env)
	if err != nil {
		t.Fatal(err)
	}
	r := check.Run(context.Background(), k, c, 0)
	t.Logf("%s: %s | %s", r.Status, r.Output, check.PerfString(r.Perf))
	return r
}
