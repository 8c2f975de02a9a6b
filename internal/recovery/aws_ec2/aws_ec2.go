// Package aws_ec2 is the `aws_ec2` recovery action: reboot, stop and start,
// or start an EC2 instance through the AWS SDK, with the credentials of an
// aws_accounts entry (static keys, profile, instance role, assume-role with
// external id) or of the server's environment, then wait until the instance
// passes its status checks.
package aws_ec2

//go:generate go run ../../tools/sdkwrap -type ec2Client -new newEC2 github.com/aws/aws-sdk-go-v2/service/ec2 RebootInstances StopInstances StartInstances DescribeInstances DescribeInstanceStatus

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/cloud"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
	"github.com/mamori/mamori/internal/recovery/action"
)

// Spec configures the action.
type Spec struct {
	awscheck.Target
	InstanceID      string        `yaml:"instance_id" required:"true" help:"the instance (i-0123456789abcdef0)"`
	Operation       string        `yaml:"operation" help:"reboot (the OS hangs), stop-start (AWS host trouble: the instance moves to new hardware) or start"`
	Wait            time.Duration `yaml:"wait" help:"wait this long for the instance to pass both status checks (0: do not wait)"`
	AccessKeyID     check.Secret  `yaml:"access_key_id" help:"static access key id instead of an account (a secret reference, e.g. ${AWS_ACCESS_KEY_ID})"`
	SecretAccessKey check.Secret  `yaml:"secret_access_key" help:"static secret access key (a secret reference)"`
	SessionToken    check.Secret  `yaml:"session_token" help:"session token of temporary static credentials"`
}

var instanceRE = regexp.MustCompile(`^i-[0-9a-f]{8,17}$`)

func init() {
	action.Register(&action.Kind{Name: "aws_ec2", Summary: "reboot, stop-start or start an EC2 instance (AWS SDK), then wait for its status checks",
		New: func() action.Spec { return &Spec{Operation: "reboot", Wait: 10 * time.Minute} }})
}

// Validate implements action.Spec.
func (s *Spec) Validate() []check.FieldError {
	errs := s.Target.Validate()
	if s.InstanceID != "" && !instanceRE.MatchString(s.InstanceID) {
		errs = append(errs, check.Errf("instance_id", "%q is not an instance id (i-0123456789abcdef0)", s.InstanceID))
	}
	switch s.Operation {
	case "reboot", "stop-start", "start":
	default:
		errs = append(errs, check.Errf("operation", "must be reboot, stop-start or start"))
	}
	if s.AccessKeyID.IsZero() != s.SecretAccessKey.IsZero() {
		errs = append(errs, check.Errf("secret_access_key", "access_key_id and secret_access_key go together"))
	}
	if !s.AccessKeyID.IsZero() && s.Account != "" {
		errs = append(errs, check.Errf("access_key_id", "give either account or static keys, not both"))
	}
	return errs
}

// New implements action.Spec.
func (s *Spec) New(env action.Env) (action.Action, error) {
	hub := awscheck.HubOf(check.Env{Logger: env.Log, Shared: env.Shared})
	target := s.Target
	if !s.AccessKeyID.IsZero() {
		// Static keys of the step itself: an account of their own.
		acct := cloud.AWSAccount{Name: "aws_ec2 action", AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey,
			SessionToken: s.SessionToken, EndpointURL: s.EndpointURL}
		if s.Region != "" {
			acct.Regions = []string{s.Region}
		}
		hub = cloudaws.NewHub([]cloud.AWSAccount{acct}, cloudaws.WithLogger(env.Log))
		target.Account = acct.Name
	}
	poll := env.Poll
	if poll <= 0 {
		poll = 15 * time.Second
	}
	return &act{spec: *s, target: target, hub: hub, poll: poll}, nil
}

type act struct {
	spec   Spec
	target awscheck.Target
	hub    *cloudaws.Hub
	poll   time.Duration
}

func (a *act) Describe(action.Target) string {
	where := a.target.Ref().String()
	return fmt.Sprintf("EC2 %s %s (%s)", a.spec.Operation, a.spec.InstanceID, where)
}

func (a *act) Run(ctx context.Context, t action.Target) action.Result {
	if t.DryRun {
		return action.Result{DryRun: true, Output: "dry run: would " + a.Describe(t)}
	}
	if t.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.Timeout)
		defer cancel()
	}
	cl, ref, err := awscheck.Client(ctx, a.hub, &a.target, "ec2", newEC2)
	if err != nil {
		return action.Result{ExitCode: -1, Error: err.Error()}
	}
	start := time.Now()
	out, err := a.operate(ctx, cl)
	if err != nil {
		return action.Result{ExitCode: -1, Output: out, Error: cloudaws.Explain(err, ref.Region)}
	}
	if a.spec.Wait <= 0 {
		return action.Result{Output: out}
	}
	if err := a.waitHealthy(ctx, cl); err != nil {
		return action.Result{ExitCode: 1, Output: out, Error: fmt.Sprintf("%s did not pass its status checks within %s: %v", a.spec.InstanceID, a.spec.Wait, err)}
	}
	return action.Result{Output: fmt.Sprintf("%s; status checks ok after %s", out, time.Since(start).Round(time.Second))}
}

// operate calls the EC2 API: reboot, stop then start, or start.
func (a *act) operate(ctx context.Context, cl ec2Client) (string, error) {
	ids := []string{a.spec.InstanceID}
	switch a.spec.Operation {
	case "reboot":
		if _, err := cl.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: ids}); err != nil {
			return "", err
		}
		return "RebootInstances " + a.spec.InstanceID + " accepted", nil
	case "stop-start":
		if _, err := cl.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids}); err != nil {
			return "", err
		}
		w := ec2.NewInstanceStoppedWaiter(cl, func(o *ec2.InstanceStoppedWaiterOptions) {
			o.MinDelay, o.MaxDelay = a.poll, max(a.poll, 30*time.Second)
		})
		if err := w.Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids}, 15*time.Minute); err != nil {
			return "StopInstances " + a.spec.InstanceID + " accepted", fmt.Errorf("waiting for the instance to stop: %w", err)
		}
	}
	if _, err := cl.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: ids}); err != nil {
		return "", err
	}
	return "StartInstances " + a.spec.InstanceID + " accepted", nil
}

// waitHealthy waits until both status checks of the instance are ok.
func (a *act) waitHealthy(ctx context.Context, cl ec2Client) error {
	in := &ec2.DescribeInstanceStatusInput{InstanceIds: []string{a.spec.InstanceID}}
	deadline := time.Now().Add(a.spec.Wait)
	sys := ec2.NewSystemStatusOkWaiter(cl, func(o *ec2.SystemStatusOkWaiterOptions) { o.MinDelay, o.MaxDelay = a.poll, max(a.poll, 30*time.Second) })
	if err := sys.Wait(ctx, in, a.spec.Wait); err != nil {
		return err
	}
	inst := ec2.NewInstanceStatusOkWaiter(cl, func(o *ec2.InstanceStatusOkWaiterOptions) {
		o.MinDelay, o.MaxDelay = a.poll, max(a.poll, 30*time.Second)
	})
	return inst.Wait(ctx, in, max(time.Until(deadline), a.poll))
}
