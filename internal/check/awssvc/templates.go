package awssvc

import (
	"time"

	"github.com/mamori/mamori/internal/check/awscheck"
)

// Template is a ready-made `cloudwatch` check for one metric of a service:
// the seed's CloudWatch-watched items (Lambda, SQS, DynamoDB, CloudFront,
// API Gateway, S3 bucket size …). Dimension values come from the resource
// (Dims names the dimension that takes the resource's ID; Fixed are set as
// they are). Thresholds are Nagios ranges.
type Template struct {
	Service, Name       string // Name: the check name's suffix ("errors")
	Namespace, Metric   string
	Dim                 string            // dimension whose value is the resource ID
	Fixed               map[string]string // other dimensions
	Statistic           string
	Period              time.Duration
	Warning, Critical   string
	MissingData, Region string // "" = the check's defaults
	Comment             string
}

// Templates lists the CloudWatch templates by service.
var Templates = []Template{
	{Service: "lambda", Name: "errors", Namespace: "AWS/Lambda", Metric: "Errors", Dim: "FunctionName", Statistic: "Sum", Period: 5 * time.Minute, Warning: "0", Critical: "10", MissingData: "ok", Comment: "invocations that ended in an error"},
	{Service: "lambda", Name: "throttles", Namespace: "AWS/Lambda", Metric: "Throttles", Dim: "FunctionName", Statistic: "Sum", Period: 5 * time.Minute, Warning: "0", MissingData: "ok", Comment: "invocations refused for lack of concurrency"},
	{Service: "lambda", Name: "duration", Namespace: "AWS/Lambda", Metric: "Duration", Dim: "FunctionName", Statistic: "p99", Period: 5 * time.Minute, Warning: "3000", Critical: "10000", MissingData: "ok", Comment: "p99 run time in ms: set below the function's timeout"},
	{Service: "lambda", Name: "invocations", Namespace: "AWS/Lambda", Metric: "Invocations", Dim: "FunctionName", Statistic: "Sum", Period: 5 * time.Minute, MissingData: "ok", Comment: "call count (graph; add critical \"1:\" if it must never stop)"},
	{Service: "sqs", Name: "oldest-message", Namespace: "AWS/SQS", Metric: "ApproximateAgeOfOldestMessage", Dim: "QueueName", Statistic: "Maximum", Period: 5 * time.Minute, Warning: "300", Critical: "900", Comment: "age in seconds of the oldest message: consumers stalled"},
	{Service: "sqs", Name: "visible", Namespace: "AWS/SQS", Metric: "ApproximateNumberOfMessagesVisible", Dim: "QueueName", Statistic: "Maximum", Period: 5 * time.Minute, Warning: "1000", Critical: "10000", Comment: "messages waiting"},
	{Service: "dynamodb", Name: "read-throttles", Namespace: "AWS/DynamoDB", Metric: "ReadThrottleEvents", Dim: "TableName", Statistic: "Sum", Period: 5 * time.Minute, Warning: "0", Critical: "100", MissingData: "ok", Comment: "reads over the provisioned capacity"},
	{Service: "dynamodb", Name: "write-throttles", Namespace: "AWS/DynamoDB", Metric: "WriteThrottleEvents", Dim: "TableName", Statistic: "Sum", Period: 5 * time.Minute, Warning: "0", Critical: "100", MissingData: "ok", Comment: "writes over the provisioned capacity"},
	{Service: "dynamodb", Name: "latency", Namespace: "AWS/DynamoDB", Metric: "SuccessfulRequestLatency", Dim: "TableName", Fixed: map[string]string{"Operation": "GetItem"}, Statistic: "Average", Period: 5 * time.Minute, Warning: "20", Critical: "100", MissingData: "ok", Comment: "GetItem latency in ms"},
	{Service: "cloudfront", Name: "5xx-rate", Namespace: "AWS/CloudFront", Metric: "5xxErrorRate", Dim: "DistributionId", Fixed: map[string]string{"Region": "Global"}, Statistic: "Average", Period: 5 * time.Minute, Warning: "1", Critical: "5", MissingData: "ok", Region: "us-east-1", Comment: "% of requests answered 5xx (CloudFront metrics live in us-east-1)"},
	{Service: "cloudfront", Name: "4xx-rate", Namespace: "AWS/CloudFront", Metric: "4xxErrorRate", Dim: "DistributionId", Fixed: map[string]string{"Region": "Global"}, Statistic: "Average", Period: 5 * time.Minute, Warning: "5", Critical: "15", MissingData: "ok", Region: "us-east-1", Comment: "% of requests answered 4xx"},
	{Service: "cloudfront", Name: "cache-hit-rate", Namespace: "AWS/CloudFront", Metric: "CacheHitRate", Dim: "DistributionId", Fixed: map[string]string{"Region": "Global"}, Statistic: "Average", Period: 5 * time.Minute, Warning: "50:", Critical: "20:", MissingData: "ok", Region: "us-east-1", Comment: "% served from cache; needs the distribution's additional metrics turned on"},
	{Service: "s3", Name: "size", Namespace: "AWS/S3", Metric: "BucketSizeBytes", Dim: "BucketName", Fixed: map[string]string{"StorageType": "StandardStorage"}, Statistic: "Average", Period: 24 * time.Hour, Warning: "1e12", Critical: "5e12", Comment: "bytes stored (S3 reports once a day): set your own limits"},
	{Service: "apigateway", Name: "5xx", Namespace: "AWS/ApiGateway", Metric: "5XXError", Dim: "ApiName", Statistic: "Sum", Period: 5 * time.Minute, Warning: "0", Critical: "10", MissingData: "ok", Comment: "server-side errors (the outside view is an http check)"},
	{Service: "apigateway", Name: "latency", Namespace: "AWS/ApiGateway", Metric: "Latency", Dim: "ApiName", Statistic: "p99", Period: 5 * time.Minute, Warning: "1000", Critical: "3000", MissingData: "ok", Comment: "p99 latency in ms"},
	{Service: "rds", Name: "connections", Namespace: "AWS/RDS", Metric: "DatabaseConnections", Dim: "DBInstanceIdentifier", Statistic: "Maximum", Period: 5 * time.Minute, Warning: "400", Critical: "480", Comment: "set to ~80/95 % of max_connections"},
	{Service: "rds", Name: "cpu", Namespace: "AWS/RDS", Metric: "CPUUtilization", Dim: "DBInstanceIdentifier", Statistic: "Average", Period: 5 * time.Minute, Warning: "80", Critical: "95"},
	{Service: "elb", Name: "5xx", Namespace: "AWS/ApplicationELB", Metric: "HTTPCode_ELB_5XX_Count", Dim: "LoadBalancer", Statistic: "Sum", Period: 5 * time.Minute, Warning: "0", Critical: "50", MissingData: "ok", Comment: "5xx the load balancer itself answered (LoadBalancer = app/NAME/ID)"},
	{Service: "elasticache", Name: "swap", Namespace: "AWS/ElastiCache", Metric: "SwapUsage", Dim: "CacheClusterId", Statistic: "Maximum", Period: 5 * time.Minute, Warning: "50000000", Critical: "300000000", Comment: "bytes swapped"},
	{Service: "elasticache", Name: "cpu", Namespace: "AWS/ElastiCache", Metric: "EngineCPUUtilization", Dim: "CacheClusterId", Statistic: "Average", Period: 5 * time.Minute, Warning: "80", Critical: "90"},
	{Service: "redshift", Name: "disk", Namespace: "AWS/Redshift", Metric: "PercentageDiskSpaceUsed", Dim: "ClusterIdentifier", Statistic: "Maximum", Period: 5 * time.Minute, Warning: "80", Critical: "90"},
	{Service: "redshift", Name: "cpu", Namespace: "AWS/Redshift", Metric: "CPUUtilization", Dim: "ClusterIdentifier", Statistic: "Average", Period: 5 * time.Minute, Warning: "80", Critical: "95"},
	{Service: "ecs", Name: "cpu", Namespace: "AWS/ECS", Metric: "CPUUtilization", Dim: "ServiceName", Statistic: "Average", Period: 5 * time.Minute, Warning: "80", Critical: "95", Comment: "add dimension ClusterName"},
	{Service: "ecs", Name: "memory", Namespace: "AWS/ECS", Metric: "MemoryUtilization", Dim: "ServiceName", Statistic: "Average", Period: 5 * time.Minute, Warning: "80", Critical: "95", Comment: "add dimension ClusterName"},
}

// TemplatesOf lists the templates of one service.
func TemplatesOf(service string) []Template {
	var out []Template
	for _, t := range Templates {
		if t.Service == service {
			out = append(out, t)
		}
	}
	return out
}

// Proposal is the template as a discovered check of resource id (extra
// dimensions, e.g. ClusterName for ECS, added to the template's).
func (t Template) Proposal(name, id string, extra map[string]string) awscheck.Proposal {
	dims := map[string]string{t.Dim: id}
	for k, v := range t.Fixed {
		dims[k] = v
	}
	for k, v := range extra {
		dims[k] = v
	}
	fields := []awscheck.KV{{Key: "namespace", Value: t.Namespace}, {Key: "metric", Value: t.Metric}, {Key: "dimensions", Value: dims},
		{Key: "statistic", Value: t.Statistic}, {Key: "period", Value: t.Period.String()}}
	for _, kv := range []awscheck.KV{{Key: "warning", Value: t.Warning}, {Key: "critical", Value: t.Critical}, {Key: "missing_data", Value: t.MissingData}, {Key: "region", Value: t.Region}} {
		if kv.Value != "" {
			fields = append(fields, kv)
		}
	}
	return awscheck.Proposal{Name: name + "-" + t.Name, Type: "cloudwatch", Fields: fields, Comment: t.Comment}
}
