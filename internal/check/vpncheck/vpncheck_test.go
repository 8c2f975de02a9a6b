package vpncheck

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awsseam/awsfake"
)

func serve(f *awsfake.Server, state string, tunnels ...string) {
	f.Handle("DescribeVpnConnections", func(r *awsfake.Request) awsfake.Reply {
		if r.Form.Get("VpnConnectionId.1") != "vpn-0123456789abcdef0" {
			return awsfake.EC2Error(400, "InvalidVpnConnectionID.NotFound", "The vpnConnection ID '"+r.Form.Get("VpnConnectionId.1")+"' does not exist")
		}
		var tel strings.Builder
		for i, s := range tunnels {
			fmt.Fprintf(&tel, `<item><outsideIpAddress>203.0.113.%d</outsideIpAddress><status>%s</status><lastStatusChange>2026-12-02T01:02:03.000Z</lastStatusChange><statusMessage>%s</statusMessage><acceptedRouteCount>2</acceptedRouteCount></item>`,
				i+1, s, map[string]string{"DOWN": "IPSEC IS DOWN", "UP": "2 BGP ROUTES"}[s])
		}
		return awsfake.EC2XML("DescribeVpnConnections", `<vpnConnectionSet><item><vpnConnectionId>vpn-0123456789abcdef0</vpnConnectionId><state>`+state+`</state><type>ipsec.1</type><vgwTelemetry>`+tel.String()+`</vgwTelemetry></item></vpnConnectionSet>`)
	})
}

func TestVPN(t *testing.T) {
	awsfake.Env(t)
	cases := []struct {
		name, state string
		tunnels     []string
		want        check.Status
		text        string
	}{
		{"both up", "available", []string{"UP", "UP"}, check.OK, "2 of 2 tunnels up: 203.0.113.1 UP, 203.0.113.2 UP"},
		{"one down", "available", []string{"UP", "DOWN"}, check.Warning, "1 of 2 tunnels up: 203.0.113.1 UP, 203.0.113.2 DOWN since 2026-12-02 01:02 UTC (IPSEC IS DOWN)"},
		{"all down", "available", []string{"DOWN", "DOWN"}, check.Critical, "0 of 2 tunnels up"},
		{"deleted", "deleted", nil, check.Critical, "vpn-0123456789abcdef0 is deleted"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := awsfake.New(t)
			serve(f, c.state, c.tunnels...)
			r := f.Check(t, "aws_vpn", &Spec{Target: awsfake.Target(f), VPNConnectionID: "vpn-0123456789abcdef0"})
			if r.Status != c.want || !strings.Contains(r.Output, c.text) {
				t.Fatalf("got %s %q, want %s containing %q", r.Status, r.Output, c.want, c.text)
			}
		})
	}
}

func TestVPNAPIErrors(t *testing.T) {
	awsfake.Env(t)
	f := awsfake.New(t)
	serve(f, "available", "UP", "UP")
	if r := f.Check(t, "aws_vpn", &Spec{Target: awsfake.Target(f), VPNConnectionID: "vpn-0000000000000000f"}); r.Status != check.Critical || !strings.Contains(r.Output, "VPN connection vpn-0000000000000000f not found in region ap-northeast-1") {
		t.Fatalf("not found: %s %q", r.Status, r.Output)
	}
	f.Handle("DescribeVpnConnections", awsfake.Throttle(1, awsfake.EC2Error(503, "RequestLimitExceeded", "Request limit exceeded."), func(*awsfake.Request) awsfake.Reply {
		return awsfake.EC2XML("DescribeVpnConnections", `<vpnConnectionSet><item><vpnConnectionId>vpn-0123456789abcdef0</vpnConnectionId><state>available</state><vgwTelemetry><item><outsideIpAddress>203.0.113.1</outsideIpAddress><status>UP</status></item></vgwTelemetry></item></vpnConnectionSet>`)
	}))
	if r := f.Check(t, "aws_vpn", &Spec{Target: awsfake.Target(f), VPNConnectionID: "vpn-0123456789abcdef0"}); r.Status != check.OK {
		t.Fatalf("throttled once: %s %q", r.Status, r.Output)
	}
	f.Handle("DescribeVpnConnections", func(*awsfake.Request) awsfake.Reply {
		return awsfake.EC2Error(403, "UnauthorizedOperation", "You are not authorized to perform this operation.")
	})
	if r := f.Check(t, "aws_vpn", &Spec{Target: awsfake.Target(f), VPNConnectionID: "vpn-0123456789abcdef0"}); r.Status != check.Unknown || !strings.Contains(r.Output, "ec2:DescribeVpnConnections") {
		t.Fatalf("access denied: %s %q", r.Status, r.Output)
	}
}
