package awscheck_test

import (
	"context"
	"strings"
	"testing"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awscheck/awsfake"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

func TestHubOfAndErrorResult(t *testing.T) {
	f := awsfake.New(t)
	f.Env(t)
	shared := check.SharedMap{}
	h := cloudaws.NewHub(nil)
	awscheck.Share(shared, h)
	if awscheck.HubOf(check.Env{Shared: shared}) != h {
		t.Fatal("HubOf did not find the shared hub")
	}
	own := awscheck.HubOf(check.Env{})
	if own == nil || own == h {
		t.Fatal("without a shared hub, HubOf must build one from the environment")
	}
	target := &awscheck.Target{EndpointURL: f.URL}
	c, ref, err := awscheck.Client(context.Background(), own, target, "sts", func(c sdkaws.Config) *sts.Client { return sts.NewFromConfig(c) })
	if err != nil {
		t.Fatal(err)
	}
	f.Fail("sts", "GetCallerIdentity", awsfake.AccessDenied("sts:GetCallerIdentity"))
	_, err = c.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	r := awscheck.ErrorResult(context.Background(), ref, err)
	if r.Status != check.Unknown || !strings.Contains(r.Output, "sts:GetCallerIdentity") {
		t.Fatalf("result %v %q", r.Status, r.Output)
	}
}

func TestTargetValidate(t *testing.T) {
	tg := &awscheck.Target{Region: "tokyo", EndpointURL: "ftp://x"}
	errs := tg.Validate()
	if len(errs) != 2 {
		t.Fatalf("errors %v", errs)
	}
	if p, n := (&awscheck.Target{Account: "a"}).CloudAccount(); p != "aws" || n != "a" {
		t.Fatal(p, n)
	}
}
