package config

import (
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	_ "github.com/mamori/mamori/internal/recovery/aws_ec2" // the aws_ec2 action, which the recovery step names
)

// cloudSpec is a test-only AWS check type.
type cloudSpec struct {
	Account string `yaml:"account"`
	Region  string `yaml:"region"`
}

func (s *cloudSpec) Validate() []check.FieldError          { return nil }
func (s *cloudSpec) New(check.Env) (check.Checker, error)  { return nil, nil }
func (s *cloudSpec) CloudAccount() (provider, name string) { return "aws", s.Account }

func init() {
	check.Register(&check.Kind{Name: "cloudprobe", Timeout: 10 * time.Second, New: func() check.Spec { return &cloudSpec{} }})
}

func TestAWSAccounts(t *testing.T) {
	t.Setenv("TEST_AK", "AKIDEXAMPLE")
	t.Setenv("TEST_SK", "secret")
	cfg, err := Parse("aws.yaml", []byte(`
aws_accounts:
  - name: acme
    tenant: acme
    regions: [ap-northeast-1, us-east-1]
    access_key_id: ${TEST_AK}
    secret_access_key: ${TEST_SK}
    role_arn: arn:aws:iam::123456789012:role/mamori-readonly
    external_id: acme-7f3
  - name: own
    regions: [ap-northeast-1]
checks:
  - {name: cpu, type: cloudprobe, account: acme}
  - {name: env, type: cloudprobe}
hosts:
  - name: web
    tenant: acme
    checks:
      - {name: ec2, type: cloudprobe, account: acme}
      - {name: own, type: cloudprobe, account: own}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.AWSAccounts) != 2 {
		t.Fatalf("accounts %+v", cfg.AWSAccounts)
	}
	a, ok := cfg.AWSAccount("acme")
	if !ok || a.AccessKeyID.Reveal() != "AKIDEXAMPLE" || a.ExternalID.Reveal() != "acme-7f3" || a.DefaultRegion() != "ap-northeast-1" {
		t.Fatalf("acme: %+v", a)
	}
	if got := cfg.Check("cpu").Tenant; got != "acme" {
		t.Fatalf("a top-level check did not take its account's tenant: %q", got)
	}
}

func TestAWSAccountErrors(t *testing.T) {
	_, err := Parse("aws.yaml", []byte(`
aws_accounts:
  - name: acme
    tenant: acme
    regions: [tokyo]
    access_key_id: AKID
    role_arn: not-an-arn
    external_id: x
  - name: acme
  - name: beta
    session_name: s
checks:
  - {name: a, type: cloudprobe, account: acne}
hosts:
  - name: web
    tenant: other
    checks:
      - {name: b, type: cloudprobe, account: acme}
`))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		`aws.yaml:5:14: aws_accounts[0].regions[0]: "tokyo" is not a region name`,
		`aws_accounts[0].secret_access_key: access_key_id and secret_access_key go together`,
		`aws_accounts[0].role_arn: "not-an-arn" is not a role ARN`,
		`aws.yaml:9:5: aws_accounts[1].name: duplicate AWS account "acme"`,
		`aws_accounts[2].session_name: needs role_arn`,
		`aws.yaml:13:42: checks[0].account: unknown AWS account "acne" (did you mean "acme"?) (known: acme, beta)`,
		`hosts[0].checks[0].account: AWS account "acme" belongs to tenant "acme", not to this check's tenant "other"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
}

func TestRecoveryStepAccount(t *testing.T) {
	_, err := Parse("aws.yaml", []byte(`
aws_accounts:
  - {name: acme, regions: [ap-northeast-1]}
checks:
  - name: web
    type: cloudprobe
    account: acme
    recovery: [{action: aws_ec2, instance_id: i-0123456789abcdef0, account: acmee}]
`))
	if err == nil || !strings.Contains(err.Error(), `checks[0].recovery.steps[0].account: unknown AWS account "acmee"`) {
		t.Fatalf("%v", err)
	}
}
