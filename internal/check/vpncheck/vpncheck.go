// Package vpncheck is the "aws_vpn" check type: the tunnels of an AWS
// Site-to-Site VPN connection (EC2 DescribeVpnConnections, VgwTelemetry):
// every tunnel down is CRITICAL, some down WARNING (the connection still
// carries traffic, without redundancy).
package vpncheck

//go:generate go run ../../tools/sdkwrap -type ec2Client -new newEC2 github.com/aws/aws-sdk-go-v2/service/ec2 DescribeVpnConnections

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

func init() {
	check.Register(&check.Kind{
		Name:    "aws_vpn",
		Label:   "AWS VPN",
		Summary: "Site-to-Site VPN tunnels: all down CRITICAL, some down WARNING (DescribeVpnConnections)",
		Scope:   check.ScopeServer,
		Timeout: 30 * time.Second,
		New:     func() check.Spec { return &Spec{} },
	})
}

// Spec is the aws_vpn check's configuration.
type Spec struct {
	awscheck.Target
	VPNConnectionID string `yaml:"vpn_connection_id" required:"true" help:"VPN connection ID, e.g. vpn-0123456789abcdef0"`
	MinUp           int    `yaml:"min_up" help:"WARNING when fewer tunnels are up (default: all of them)"`
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	errs := s.Target.Validate()
	if !strings.HasPrefix(s.VPNConnectionID, "vpn-") {
		errs = append(errs, check.Errf("vpn_connection_id", "must be a VPN connection ID (vpn-…), not %q", s.VPNConnectionID))
	}
	if s.MinUp < 0 {
		errs = append(errs, check.Errf("min_up", "must not be negative"))
	}
	return errs
}

// API is what the check needs of the EC2 client.
type API interface {
	DescribeVpnConnections(ctx context.Context, in *ec2.DescribeVpnConnectionsInput, opt ...func(*ec2.Options)) (*ec2.DescribeVpnConnectionsOutput, error)
}

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	sp, hub := *s, awscheck.HubOf(env)
	return check.CheckerFunc(func(ctx context.Context) check.Result {
		api, ref, err := awscheck.Client(ctx, hub, &sp.Target, "ec2", newEC2)
		if err != nil {
			return awscheck.ConfigError(err)
		}
		return sp.Run(ctx, api, ref)
	}), nil
}

// Run describes the connection and grades its tunnels.
func (s *Spec) Run(ctx context.Context, api API, ref cloudaws.Ref) check.Result {
	out, err := api.DescribeVpnConnections(ctx, &ec2.DescribeVpnConnectionsInput{VpnConnectionIds: []string{s.VPNConnectionID}})
	if awssvc.NotFound(err) || err == nil && len(out.VpnConnections) == 0 {
		return awssvc.NotFoundResult("VPN connection", s.VPNConnectionID, ref)
	}
	if err != nil {
		return awscheck.ErrorResult(ctx, ref, err)
	}
	return s.Evaluate(out.VpnConnections[0])
}

// Evaluate grades a connection's state and tunnels.
func (s *Spec) Evaluate(v types.VpnConnection) check.Result {
	if v.State != types.VpnStateAvailable {
		st := check.Critical
		if v.State == types.VpnStatePending {
			st = check.Warning
		}
		return check.Resultf(st, "%s is %s", s.VPNConnectionID, v.State)
	}
	up := 0
	var tunnels []string
	for _, t := range v.VgwTelemetry {
		ip := aws.ToString(t.OutsideIpAddress)
		if t.Status == types.TelemetryStatusUp {
			up++
			tunnels = append(tunnels, ip+" UP")
			continue
		}
		d := fmt.Sprintf("%s %s", ip, t.Status)
		if t.LastStatusChange != nil {
			d += " since " + awssvc.When(*t.LastStatusChange)
		}
		if m := aws.ToString(t.StatusMessage); m != "" {
			d += " (" + m + ")"
		}
		tunnels = append(tunnels, d)
	}
	n := len(v.VgwTelemetry)
	want := s.MinUp
	if want == 0 || want > n {
		want = n
	}
	st := check.OK
	switch {
	case n == 0 || up == 0:
		st = check.Critical
	case up < want:
		st = check.Warning
	}
	r := check.Resultf(st, "%s: %d of %d tunnels up: %s", s.VPNConnectionID, up, n, strings.Join(tunnels, ", "))
	return r.With(check.Metric{Label: "tunnels_up", Value: float64(up), Warn: float64(want), Crit: 1, Min: 0, Max: float64(n)})
}
