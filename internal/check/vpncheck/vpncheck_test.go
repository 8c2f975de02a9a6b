package vpncheck

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck/awsfake"
	"github.com/mamori/mamori/internal/check/awssvc/svctest"
)

func serve(f *awsfake.Server, state string, tunnels ...string) {
	f.Handle("ec2", "DescribeVpnConnections", func(r *awsfake.Request) (any, error) {
		if r.Form.Get("VpnConnectionId.1") != "vpn-0123456789abcdef0" {
			return nil, &awsfake.Error{Status: 400, Code: "InvalidVpnConnectionID.NotFound", Message: "The vpnConnection ID '" + r.Form.Get("VpnConnectionId.1") + "' does not exist"}
		}
		var tel strings.Builder
		for i, s := range tunnels {
			fmt.Fprintf(&tel, `<item><outsideIpAddress>203.0.113.%d</outsideIpAddress><status>%s</status><lastStatusChange>2026-12-02T01:02:03.000Z</lastStatusChange><statusMessage>%s</statusMessage><acceptedRouteCount>2</acceptedRouteCount></item>`,
				i+1, s, map[string]string{"DOWN": "IPSEC IS DOWN", "UP": "2 BGP ROUTES"}[s])
		}
		return awsfake.XML(`<vpnConnectionSet><item><vpnConnectionId>vpn-0123456789abcdef0</vpnConnectionId><state>` + state + `</state><type>ipsec.1</type><vgwTelemetry>` + tel.String() + `</vgwTelemetry></item></vpnConnectionSet>`), nil
	})
}

func TestVPN(t *testing.T) {
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
			f, env := svctest.Fake(t)
			serve(f, c.state, c.tunnels...)
			r := svctest.Check(t, env, "aws_vpn", &Spec{Target: svctest.Target(f), VPNConnectionID: "vpn-0123456789abcdef0"})
			if r.Status != c.want || !strings.Contains(r.Output, c.text) {
				t.Fatalf("got %s %q, want %s containing %q", r.Status, r.Output, c.want, c.text)
			}
		})
	}
}

func TestVPNAPIErrors(t *testing.T) {
	f, env := svctest.Fake(t)
	serve(f, "available", "UP", "UP")
	if r := svctest.Check(t, env, "aws_vpn", &Spec{Target: svctest.Target(f), VPNConnectionID: "vpn-0000000000000000f"}); r.Status != check.Critical || !strings.Contains(r.Output, "VPN connection vpn-0000000000000000f not found in region ap-northeast-1") {
		t.Fatalf("not found: %s %q", r.Status, r.Output)
	}
	f.Fail("ec2", "DescribeVpnConnections", &awsfake.Error{Status: 503, Code: "RequestLimitExceeded", Message: "Request limit exceeded."})
	f.Handle("ec2", "DescribeVpnConnections", func(*awsfake.Request) (any, error) {
		return awsfake.XML(`<vpnConnectionSet><item><vpnConnectionId>vpn-0123456789abcdef0</vpnConnectionId><state>available</state><vgwTelemetry><item><outsideIpAddress>203.0.113.1</outsideIpAddress><status>UP</status></item></vgwTelemetry></item></vpnConnectionSet>`), nil
	})
	if r := svctest.Check(t, env, "aws_vpn", &Spec{Target: svctest.Target(f), VPNConnectionID: "vpn-0123456789abcdef0"}); r.Status != check.OK {
		t.Fatalf("throttled once: %s %q", r.Status, r.Output)
	}
	f.Handle("ec2", "DescribeVpnConnections", func(*awsfake.Request) (any, error) {
		return nil, &awsfake.Error{Status: 403, Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."}
	})
	if r := svctest.Check(t, env, "aws_vpn", &Spec{Target: svctest.Target(f), VPNConnectionID: "vpn-0123456789abcdef0"}); r.Status != check.Unknown || !strings.Contains(r.Output, "ec2:DescribeVpnConnections") {
		t.Fatalf("access denied: %s %q", r.Status, r.Output)
	}
}
