package vpncheck

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

func init() {
	awscheck.RegisterDiscoverer(&awscheck.Discoverer{Service: "vpn", Discover: discover, IAM: []string{"ec2:DescribeVpnConnections"}})
}

// discover proposes the aws_vpn check per VPN connection that is not deleted.
func discover(ctx context.Context, h *cloudaws.Hub, ref cloudaws.Ref, tags map[string]string) ([]awscheck.Resource, error) {
	api, err := cloudaws.Client(ctx, h, ref, "ec2", newEC2)
	if err != nil {
		return nil, err
	}
	out, err := api.DescribeVpnConnections(ctx, &ec2.DescribeVpnConnectionsInput{})
	if err != nil {
		return nil, err
	}
	var res []awscheck.Resource
	for _, v := range out.VpnConnections {
		if v.State == types.VpnStateDeleted || v.State == types.VpnStateDeleting {
			continue
		}
		have, name := map[string]string{}, ""
		for _, t := range v.Tags {
			have[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		if !awssvc.HasTags(have, tags) {
			continue
		}
		name = have["Name"]
		id := aws.ToString(v.VpnConnectionId)
		res = append(res, awscheck.Resource{ID: id, Name: name, Checks: []awscheck.Proposal{
			awssvc.Proposal("vpn-"+id, "aws_vpn", "tunnels up/down", awssvc.KV("vpn_connection_id", id))}})
	}
	return res, nil
}
