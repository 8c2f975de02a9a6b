package awssvc_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awscheck/awsfake"
	_ "github.com/mamori/mamori/internal/check/awshealthcheck"
	"github.com/mamori/mamori/internal/check/awssvc/svctest"
	_ "github.com/mamori/mamori/internal/check/beanstalkcheck"
	_ "github.com/mamori/mamori/internal/check/directorycheck"
	_ "github.com/mamori/mamori/internal/check/ecscheck"
	_ "github.com/mamori/mamori/internal/check/elasticachecheck"
	_ "github.com/mamori/mamori/internal/check/elbcheck"
	"github.com/mamori/mamori/internal/check/fieldset"
	_ "github.com/mamori/mamori/internal/check/logscheck"
	_ "github.com/mamori/mamori/internal/check/rdscheck"
	_ "github.com/mamori/mamori/internal/check/redshiftcheck"
	_ "github.com/mamori/mamori/internal/check/s3check"
	_ "github.com/mamori/mamori/internal/check/sescheck"
	_ "github.com/mamori/mamori/internal/check/vpncheck"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

func xml(inner string) awsfake.Handler {
	return func(*awsfake.Request) (any, error) { return awsfake.XML(inner), nil }
}

func value(v any) awsfake.Handler { return func(*awsfake.Request) (any, error) { return v, nil } }

// account is one resource of each service, tagged env=prod, plus an
// untagged DB instance.
func account(f *awsfake.Server) {
	f.Handle("rds", "DescribeDBClusters", xml(`<DBClusters><DBCluster><DBClusterIdentifier>aurora-prod</DBClusterIdentifier><TagList><Tag><Key>env</Key><Value>prod</Value></Tag></TagList></DBCluster></DBClusters>`))
	f.Handle("rds", "DescribeDBInstances", xml(`<DBInstances><DBInstance><DBInstanceIdentifier>aurora-prod-1</DBInstanceIdentifier><DBClusterIdentifier>aurora-prod</DBClusterIdentifier><TagList><Tag><Key>env</Key><Value>prod</Value></Tag></TagList></DBInstance><DBInstance><DBInstanceIdentifier>scratch</DBInstanceIdentifier></DBInstance></DBInstances>`))
	f.Handle("redshift", "DescribeClusters", xml(`<Clusters><Cluster><ClusterIdentifier>dwh</ClusterIdentifier><Tags><Tag><Key>env</Key><Value>prod</Value></Tag></Tags></Cluster></Clusters>`))
	f.Handle("ec2", "DescribeVpnConnections", xml(`<vpnConnectionSet><item><vpnConnectionId>vpn-0123456789abcdef0</vpnConnectionId><state>available</state><tagSet><item><key>env</key><value>prod</value></item><item><key>Name</key><value>to-dc</value></item></tagSet></item></vpnConnectionSet>`))
	f.Handle("ds", "DescribeDirectories", value(map[string]any{"DirectoryDescriptions": []any{map[string]any{"DirectoryId": "d-1234567890", "Name": "corp.example.com"}}}))
	f.Handle("ds", "ListTagsForResource", value(map[string]any{"Tags": []any{map[string]any{"Key": "env", "Value": "prod"}}}))
	f.Handle("elasticache", "DescribeCacheClusters", xml(`<CacheClusters><CacheCluster><CacheClusterId>sessions-001</CacheClusterId><ReplicationGroupId>sessions</ReplicationGroupId><ARN>arn:aws:elasticache:ap-northeast-1:123456789012:cluster:sessions-001</ARN></CacheCluster></CacheClusters>`))
	f.Handle("elasticache", "ListTagsForResource", xml(`<TagList><Tag><Key>env</Key><Value>prod</Value></Tag></TagList>`))
	f.Handle("elasticbeanstalk", "DescribeEnvironments", xml(`<Environments><member><EnvironmentName>shop-prod</EnvironmentName><EnvironmentId>e-1</EnvironmentId><EnvironmentArn>arn:aws:elasticbeanstalk:ap-northeast-1:123456789012:environment/shop/shop-prod</EnvironmentArn></member></Environments>`))
	f.Handle("elasticbeanstalk", "ListTagsForResource", xml(`<ResourceTags><member><Key>env</Key><Value>prod</Value></member></ResourceTags>`))
	f.Handle("ecs", "ListClusters", value(map[string]any{"clusterArns": []string{"arn:aws:ecs:ap-northeast-1:123456789012:cluster/web"}}))
	f.Handle("ecs", "ListTagsForResource", value(map[string]any{"tags": []any{map[string]any{"key": "env", "value": "prod"}}}))
	f.Handle("ecs", "ListServices", value(map[string]any{"serviceArns": []string{"arn:aws:ecs:ap-northeast-1:123456789012:service/web/api"}}))
	const albARN = "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:loadbalancer/app/web-alb/50dc6c495c0c9188"
	f.Handle("elasticloadbalancing", "DescribeLoadBalancers", func(r *awsfake.Request) (any, error) {
		if r.Form.Get("Version") == "2012-06-01" { // Classic
			return awsfake.XML(`<LoadBalancerDescriptions><member><LoadBalancerName>legacy</LoadBalancerName></member></LoadBalancerDescriptions>`), nil
		}
		return awsfake.XML(`<LoadBalancers><member><LoadBalancerName>web-alb</LoadBalancerName><LoadBalancerArn>` + albARN + `</LoadBalancerArn><Type>application</Type></member></LoadBalancers>`), nil
	})
	f.Handle("elasticloadbalancing", "DescribeTags", xml(`<TagDescriptions><member><Tags><member><Key>env</Key><Value>prod</Value></member></Tags></member></TagDescriptions>`))
	f.Handle("logs", "DescribeLogGroups", value(map[string]any{"logGroups": []any{map[string]any{"logGroupName": "/aws/lambda/orders", "arn": "arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/lambda/orders:*"}}}))
	f.Handle("logs", "ListTagsForResource", value(map[string]any{"tags": map[string]string{"env": "prod"}}))
	f.HandleREST("s3", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("tagging") {
			fmt.Fprint(w, `<Tagging><TagSet><Tag><Key>env</Key><Value>prod</Value></Tag></TagSet></Tagging>`)
			return
		}
		fmt.Fprint(w, `<ListAllMyBucketsResult><Buckets><Bucket><Name>backups</Name><BucketRegion>ap-northeast-1</BucketRegion></Bucket></Buckets></ListAllMyBucketsResult>`)
	}))
}

// TestDiscover runs every service's discovery against the fake and checks
// that each proposed check is a valid check of its type.
func TestDiscover(t *testing.T) {
	f, _ := svctest.Fake(t)
	account(f)
	awsfake.NewHealth(f)
	hub := cloudaws.NewHub(nil)
	ref := cloudaws.Ref{Region: awsfake.Region, EndpointURL: f.URL}
	want := map[string][]string{
		"rds":         {"rds-aurora-prod aws_rds", "rds-aurora-prod-1-connections cloudwatch", "rds-scratch aws_rds"},
		"redshift":    {"redshift-dwh aws_redshift"},
		"vpn":         {"vpn-vpn-0123456789abcdef0 aws_vpn"},
		"ds":          {"directory-d-1234567890 aws_directory"},
		"ses":         {"ses-rates-ap-northeast-1 aws_ses"},
		"elasticache": {"elasticache-sessions aws_elasticache", "elasticache-sessions-001-swap cloudwatch"},
		"beanstalk":   {"beanstalk-shop-prod aws_beanstalk"},
		"ecs":         {"ecs-web aws_ecs", "ecs-web-api-cpu cloudwatch"},
		"elb":         {"elb-web-alb aws_elb", "elb-web-alb-5xx cloudwatch", "clb-legacy aws_elb"},
		"lambda":      {"lambda-orders-log aws_logs", "lambda-orders-errors cloudwatch"},
		"s3":          {"s3-backups aws_s3", "s3-backups-size cloudwatch"},
		"health":      {"aws-health aws_health"},
	}
	for svc, names := range want {
		t.Run(svc, func(t *testing.T) {
			d := discoverer(t, svc)
			res, err := d.Discover(context.Background(), hub, ref, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := proposals(t, res)
			for _, n := range names {
				if !got[n] {
					t.Errorf("no proposal %q among %v", n, keys(got))
				}
			}
			tagged, err := d.Discover(context.Background(), hub, ref, map[string]string{"env": "prod"})
			if err != nil {
				t.Fatal(err)
			}
			if svc == "rds" && proposals(t, tagged)["rds-scratch aws_rds"] {
				t.Error("the untagged instance was proposed for --tags env=prod")
			}
			if svc != "ses" && len(tagged) == 0 {
				t.Error("nothing found for --tags env=prod")
			}
		})
	}
}

func discoverer(t *testing.T, svc string) *awscheck.Discoverer {
	for _, d := range awscheck.Discoverers() {
		if d.Service == svc {
			return d
		}
	}
	t.Fatalf("no discoverer %s", svc)
	return nil
}

// proposals decodes every proposal into its check type's spec and returns
// "name type" of each.
func proposals(t *testing.T, res []awscheck.Resource) map[string]bool {
	got := map[string]bool{}
	for _, r := range res {
		for _, p := range r.Checks {
			k, ok := check.Lookup(p.Type)
			if !ok {
				t.Fatalf("%s: unknown type %s", p.Name, p.Type)
			}
			s := k.New()
			fields := map[string]fieldset.Field{}
			for _, fl := range fieldset.Of(s) {
				fields[fl.Key] = fl
			}
			for _, kv := range p.Fields {
				fl, ok := fields[kv.Key]
				if !ok {
					t.Fatalf("%s: %s has no field %s", p.Name, p.Type, kv.Key)
				}
				vals := []string{fmt.Sprint(kv.Value)}
				if l, ok := kv.Value.([]string); ok {
					vals = l
				}
				if m, ok := kv.Value.(map[string]string); ok {
					vals = vals[:0]
					for mk, mv := range m {
						vals = append(vals, mk+"="+mv)
					}
				}
				for _, v := range vals {
					if err := fl.Set(v); err != nil {
						t.Fatalf("%s: %s=%v: %v", p.Name, kv.Key, v, err)
					}
				}
			}
			if errs := s.Validate(); len(errs) > 0 {
				t.Errorf("%s (%s) does not validate: %v", p.Name, p.Type, errs)
			}
			got[p.Name+" "+p.Type] = true
		}
	}
	return got
}

func keys(m map[string]bool) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
