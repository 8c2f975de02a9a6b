// Package cloudwatchcheck is the `cloudwatch` check type: any CloudWatch
// metric (namespace, metric, dimensions, statistic, period) against
// warning and critical ranges. Every cloudwatch check of one account,
// region and period shares batched GetMetricData calls (up to 500 metrics
// per call, once per period), since CloudWatch bills per metric requested.
package cloudwatchcheck

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
)

// Spec configures a cloudwatch check.
type Spec struct {
	awscheck.Target
	Namespace   string            `yaml:"namespace" required:"true" help:"metric namespace (AWS/EC2, AWS/RDS, AWS/ApplicationELB, AWS/SQS, …)"`
	Metric      string            `yaml:"metric" required:"true" help:"metric name (CPUUtilization, DatabaseConnections, …)"`
	Dimensions  map[string]string `yaml:"dimensions" flag:"dimension" help:"dimensions NAME=VALUE (InstanceId=i-0123…); on the command line --dimension K=V, repeatable"`
	Statistic   string            `yaml:"statistic" help:"Average, Sum, Minimum, Maximum, SampleCount or a percentile such as p99"`
	Period      time.Duration     `yaml:"period" help:"statistic period (1m, 5m, …; a multiple of 60s, or 1s/5s/10s/30s for high-resolution metrics)"`
	Warning     check.Range       `yaml:"warning" help:"WARNING when the value is outside this range (Nagios syntax: 80 means above 80 or below 0)"`
	Critical    check.Range       `yaml:"critical" help:"CRITICAL when the value is outside this range"`
	MissingData string            `yaml:"missing_data" help:"result when the metric has no datapoint in the last three periods: ok, warning, critical or unknown"`
	Unit        string            `yaml:"unit" help:"unit of the perfdata value (%, s, ms, B, c or empty)"`
}

func init() {
	check.Register(&check.Kind{Name: "cloudwatch", Label: "CLOUDWATCH", Timeout: 30 * time.Second,
		Summary: "any CloudWatch metric against thresholds (batched GetMetricData per account, region and period)",
		New:     func() check.Spec { return &Spec{Statistic: "Average", Period: 5 * time.Minute, MissingData: "unknown"} }})
}

var statRE = regexp.MustCompile(`^(Average|Sum|Minimum|Maximum|SampleCount|IQM|(p|tm|wm|tc|ts|pr)\d{1,2}(\.\d+)?|(TM|WM|TC|TS|PR)\(.+\))$`)

// Validate implements check.Spec.
func (s *Spec) Validate() []check.FieldError {
	errs := s.Target.Validate()
	if s.Statistic != "" && !statRE.MatchString(s.Statistic) {
		errs = append(errs, check.Errf("statistic", "%q is not a statistic (Average, Sum, Minimum, Maximum, SampleCount, p99, …)", s.Statistic))
	}
	if msg := badPeriod(s.Period); msg != "" {
		errs = append(errs, check.Errf("period", "%s", msg))
	}
	if _, err := check.ParseStatus(strings.ToUpper(s.MissingData)); err != nil {
		errs = append(errs, check.Errf("missing_data", "must be ok, warning, critical or unknown"))
	}
	if len(s.Dimensions) > 30 {
		errs = append(errs, check.Errf("dimensions", "at most 30 dimensions"))
	}
	return errs
}

func badPeriod(p time.Duration) string {
	secs := p / time.Second
	switch {
	case p <= 0 || p%time.Second != 0:
		return "must be a whole number of seconds"
	case secs < 60 && secs != 1 && secs != 5 && secs != 10 && secs != 30:
		return "below 60s, must be 1s, 5s, 10s or 30s (high-resolution metrics)"
	case secs >= 60 && secs%60 != 0:
		return "must be a multiple of 60s"
	case secs > 86400:
		return "must be at most 1 day"
	}
	return ""
}

// New implements check.Spec: the check joins its account's batch.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	hub := awscheck.HubOf(env)
	c := &checker{spec: *s, q: query{Namespace: s.Namespace, Metric: s.Metric, Dimensions: s.Dimensions, Statistic: s.Statistic}}
	c.missing, _ = check.ParseStatus(strings.ToUpper(s.MissingData))
	c.batch = batcherFor(hub, batchKey{ref: s.Ref(), period: s.Period})
	c.batch.register(c.q)
	return c, nil
}

type checker struct {
	spec    Spec
	q       query
	missing check.Status
	batch   *batcher
}

func (c *checker) Check(ctx context.Context) check.Result {
	p, err := c.batch.get(ctx, c.q)
	if err != nil {
		if ctx.Err() != nil {
			return check.Resultf(check.Unknown, "%s: no answer from CloudWatch: %s", c.describe(), check.ErrText(ctx, err))
		}
		return awscheck.ErrorResult(ctx, c.spec.Ref(), err)
	}
	if !p.ok {
		return check.Resultf(c.missing, "%s: no datapoint in the last %s", c.describe(), lookback(c.spec.Period))
	}
	st := check.Grade(p.value, c.spec.Warning, c.spec.Critical)
	r := check.Resultf(st, "%s = %s%s at %s", c.describe(), strconv.FormatFloat(round(p.value), 'f', -1, 64), c.spec.Unit, p.at.UTC().Format("15:04 UTC"))
	m := check.M(perfLabel(c.spec.Metric), round(p.value), perfUnit(c.spec.Unit))
	m.Warn, m.Crit = upper(c.spec.Warning), upper(c.spec.Critical)
	r.Perf = []check.Metric{m}
	return r
}

// describe names the metric: "AWS/EC2 CPUUtilization{InstanceId=i-1} Average 5m".
func (c *checker) describe() string {
	dims := make([]string, 0, len(c.spec.Dimensions))
	for k, v := range c.spec.Dimensions {
		dims = append(dims, k+"="+v)
	}
	sort.Strings(dims)
	d := ""
	if len(dims) > 0 {
		d = "{" + strings.Join(dims, ",") + "}"
	}
	return fmt.Sprintf("%s %s%s %s %s", c.spec.Namespace, c.spec.Metric, d, c.spec.Statistic, fmtPeriod(c.spec.Period))
}

func fmtPeriod(p time.Duration) string {
	s := p.String()
	s = strings.TrimSuffix(s, "0s")
	return strings.TrimSuffix(s, "0m")
}

func round(v float64) float64 { return math.Round(v*1000) / 1000 }

func perfLabel(metric string) string { return metric }

// perfUnit keeps only the units Nagios perfdata knows.
func perfUnit(u string) string {
	switch u {
	case "%", "s", "ms", "us", "B", "KB", "MB", "GB", "TB", "c":
		return u
	}
	return ""
}

// upper is a range's upper bound for perfdata (NaN when open or unset).
func upper(r check.Range) float64 {
	if !r.Set || math.IsInf(r.End, 0) {
		return check.NaN
	}
	return r.End
}
