package aws

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// iamPrefix maps the SDK's service ids to IAM's action prefixes.
var iamPrefix = map[string]string{
	"EC2": "ec2", "CloudWatch": "cloudwatch", "Health": "health", "Backup": "backup", "STS": "sts",
	"RDS": "rds", "Elastic Load Balancing": "elasticloadbalancing", "Elastic Load Balancing v2": "elasticloadbalancing",
	"ElastiCache": "elasticache", "Redshift": "redshift", "Elastic Beanstalk": "elasticbeanstalk", "ECS": "ecs",
	"Directory Service": "ds", "S3": "s3", "SES": "ses", "SESv2": "ses", "CloudWatch Logs": "logs", "Lambda": "lambda",
	"EFS": "elasticfilesystem", "DynamoDB": "dynamodb", "SQS": "sqs", "CloudFront": "cloudfront",
	"Resource Groups Tagging API": "tag", "API Gateway": "apigateway", "Auto Scaling": "autoscaling",
}

// IAMAction names the IAM action of a failed operation ("ec2:DescribeInstanceStatus"),
// "" if err carries no operation.
func IAMAction(err error) string {
	// The innermost operation is the one AWS refused: a call whose
	// credentials come from AssumeRole fails in sts:AssumeRole.
	var oe *smithy.OperationError
	if !errors.As(err, &oe) {
		return ""
	}
	for {
		var inner *smithy.OperationError
		if !errors.As(oe.Err, &inner) {
			break
		}
		oe = inner
	}
	p, ok := iamPrefix[oe.ServiceID]
	if !ok {
		p = strings.ToLower(strings.ReplaceAll(oe.ServiceID, " ", ""))
	}
	return p + ":" + oe.OperationName
}

// ErrorCode is the AWS error code of err ("" if it is not an API error).
func ErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// IsCredentialError reports whether AWS rejected the credentials themselves
// (unknown key, bad signature, expired token) or none could be found.
func IsCredentialError(err error) bool {
	switch ErrorCode(err) {
	case "InvalidClientTokenId", "SignatureDoesNotMatch", "AuthFailure", "UnrecognizedClientException",
		"ExpiredToken", "ExpiredTokenException", "InvalidAccessKeyId", "IncompleteSignature", "MissingAuthenticationToken":
		return !IsWrongRegion(err)
	}
	return strings.Contains(err.Error(), "failed to retrieve credentials") || strings.Contains(err.Error(), "get identity: get credentials")
}

// IsWrongRegion reports whether the call went to a region that does not
// exist or does not answer for these credentials: a request signed for
// another region than the endpoint's, or no such endpoint host.
func IsWrongRegion(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		m := ae.ErrorMessage()
		return strings.Contains(m, "scoped to a valid region") || strings.Contains(m, "should be scoped to") ||
			ae.ErrorCode() == "InvalidRegion" || ae.ErrorCode() == "UnrecognizedRegion"
	}
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) && dnsErr.IsNotFound && strings.Contains(dnsErr.Name, "amazonaws.com")
}

// Explain turns an API error into one line a person can act on: the IAM
// action to grant, the region to fix, the throttling that outlasted the
// retries. It never includes credentials.
func Explain(err error, region string) string {
	action := IAMAction(err)
	code := ErrorCode(err)
	var me *retry.MaxAttemptsError
	switch {
	case code == "SubscriptionRequiredException":
		return fmt.Sprintf("%s needs a Business, Enterprise On-Ramp or Enterprise support plan on this account (SubscriptionRequiredException)", orUnknown(action))
	case IsAccessDenied(err):
		return fmt.Sprintf("access denied: the credentials lack the IAM permission %s (%s); grant it (see docs/aws.md)", orUnknown(action), code)
	case IsWrongRegion(err):
		return fmt.Sprintf("region %q: wrong or unknown region for this account/endpoint (%s)", region, oneLine(err))
	case IsThrottle(err) && errors.As(err, &me):
		return fmt.Sprintf("throttled by AWS on %s after %d attempts; the call is retried next interval", orUnknown(action), me.Attempt)
	case IsThrottle(err):
		return fmt.Sprintf("throttled by AWS on %s (%s)", orUnknown(action), code)
	case IsCredentialError(err):
		return fmt.Sprintf("credentials rejected or missing on %s: %s", orUnknown(action), oneLine(err))
	}
	return oneLine(err)
}

func orUnknown(s string) string {
	if s == "" {
		return "the call"
	}
	return s
}

func oneLine(err error) string {
	s := err.Error()
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
