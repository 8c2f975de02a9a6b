// Package cloud holds the definitions of the cloud accounts a configuration
// declares (aws_accounts). It has no SDK in it: the config loader decodes and
// validates accounts here, and internal/cloud/aws turns them into clients.
package cloud

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/mamori/mamori/internal/check"
)

// AWSAccount is one entry of aws_accounts: whose account it is, which regions
// are watched, and how mamori gets credentials for it. With no keys and no
// profile, the SDK's default chain is used (environment, shared config and
// SSO, container and EC2 instance roles). role_arn is assumed on top of
// those credentials, with external_id when the customer's trust policy asks
// for one (a provider watching many customers' accounts).
type AWSAccount struct {
	Name            string       `yaml:"name" required:"true" help:"the account's name in this config; checks say account: NAME"`
	Tenant          string       `yaml:"tenant" help:"the customer that owns the account: only that tenant's checks may use it"`
	Regions         []string     `yaml:"regions" help:"regions watched (the first is the default region of its checks)"`
	Profile         string       `yaml:"profile" help:"profile of the shared config and credentials files (~/.aws), SSO profiles included"`
	AccessKeyID     check.Secret `yaml:"access_key_id" help:"static access key id (a secret reference: ${ENV} or file:)"`
	SecretAccessKey check.Secret `yaml:"secret_access_key" help:"static secret access key (a secret reference)"`
	SessionToken    check.Secret `yaml:"session_token" help:"session token of temporary static credentials"`
	RoleARN         string       `yaml:"role_arn" help:"role to assume in the account (arn:aws:iam::123456789012:role/mamori-readonly)"`
	ExternalID      check.Secret `yaml:"external_id" help:"external id the role's trust policy requires"`
	SessionName     string       `yaml:"session_name" help:"role session name, seen in the customer's CloudTrail (default mamori)"`
	EndpointURL     string       `yaml:"endpoint_url" help:"send every API call there instead of AWS's public endpoints (VPC endpoints, test servers)"`
	MaxAttempts     int          `yaml:"max_attempts" help:"attempts per API call, retries of throttling and transient errors included (default 5)"`
}

var (
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	roleARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)
)

// ValidRegion reports whether s looks like an AWS region name (ap-northeast-1).
func ValidRegion(s string) bool { return regionRE.MatchString(s) }

// Validate reports every problem with the account's fields.
func (a *AWSAccount) Validate() []check.FieldError {
	var errs []check.FieldError
	for i, r := range a.Regions {
		if !ValidRegion(r) {
			errs = append(errs, check.Errf(fmt.Sprintf("regions[%d]", i), "%q is not a region name (e.g. ap-northeast-1)", r))
		}
	}
	if a.AccessKeyID.IsZero() != a.SecretAccessKey.IsZero() {
		field := "secret_access_key"
		if a.AccessKeyID.IsZero() {
			field = "access_key_id"
		}
		errs = append(errs, check.Errf(field, "access_key_id and secret_access_key go together"))
	}
	if !a.SessionToken.IsZero() && a.AccessKeyID.IsZero() {
		errs = append(errs, check.Errf("session_token", "needs access_key_id and secret_access_key"))
	}
	if a.Profile != "" && !a.AccessKeyID.IsZero() {
		errs = append(errs, check.Errf("profile", "give either a profile or static keys, not both"))
	}
	if a.RoleARN != "" && !roleARNRE.MatchString(a.RoleARN) {
		errs = append(errs, check.Errf("role_arn", "%q is not a role ARN (arn:aws:iam::123456789012:role/NAME)", a.RoleARN))
	}
	if a.RoleARN == "" {
		if !a.ExternalID.IsZero() {
			errs = append(errs, check.Errf("external_id", "needs role_arn (the external id is sent when assuming the role)"))
		}
		if a.SessionName != "" {
			errs = append(errs, check.Errf("session_name", "needs role_arn"))
		}
	}
	if a.EndpointURL != "" {
		if msg := badEndpoint(a.EndpointURL); msg != "" {
			errs = append(errs, check.Errf("endpoint_url", "%s", msg))
		}
	}
	if a.MaxAttempts < 0 || a.MaxAttempts > 20 {
		errs = append(errs, check.Errf("max_attempts", "must be between 1 and 20"))
	}
	return errs
}

// ValidEndpoint reports what is wrong with an endpoint_url ("" if nothing).
func ValidEndpoint(s string) string { return badEndpoint(s) }

func badEndpoint(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("%q is not an http(s) URL", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.Contains(u.Host, "@") {
		return fmt.Sprintf("%q: an endpoint has no query, fragment or user", s)
	}
	return ""
}

// DefaultRegion is the account's first region, "" if it lists none.
func (a *AWSAccount) DefaultRegion() string {
	if len(a.Regions) == 0 {
		return ""
	}
	return a.Regions[0]
}
