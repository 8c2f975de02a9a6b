package aws

import (
	"context"
	"errors"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count what mamori asks of AWS: operations (after retries), HTTP
// attempts (what AWS counts and throttles), throttled attempts, and the
// metrics requested from CloudWatch (what it bills).
type Metrics struct {
	calls     *prometheus.CounterVec
	attempts  *prometheus.CounterVec
	throttled *prometheus.CounterVec
	requested *prometheus.CounterVec
}

func newMetrics() *Metrics {
	labels := []string{"account", "service", "operation"}
	return &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_aws_api_calls_total",
			Help: "AWS API operations by account, service, operation and outcome (ok, throttled, access_denied, error), retries not counted."},
			append(labels, "outcome")),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_aws_api_requests_total",
			Help: "HTTP requests sent to AWS APIs (each retry counts) by account, service and operation."}, labels),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_aws_api_throttled_total",
			Help: "AWS API requests answered with throttling (retried with backoff while attempts remain)."}, labels),
		requested: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_aws_metrics_requested_total",
			Help: "Metrics requested from AWS (CloudWatch bills per metric requested) by account, service and operation."}, labels),
	}
}

// Collectors are the Hub's metrics, for a Prometheus registry.
func (h *Hub) Collectors() []prometheus.Collector {
	m := h.metrics
	return []prometheus.Collector{m.calls, m.attempts, m.throttled, m.requested}
}

// CountRequested adds n metrics requested by one call (e.g. the queries of a
// GetMetricData call) to mamori_aws_metrics_requested_total.
func (h *Hub) CountRequested(account, service, operation string, n int) {
	h.metrics.requested.WithLabelValues(accountLabel(account), service, operation).Add(float64(n))
}

func accountLabel(a string) string {
	if a == EnvAccount {
		return "(environment)"
	}
	return a
}

var throttles = retry.IsErrorThrottles(retry.DefaultThrottles)

// IsThrottle reports whether err is AWS throttling (Throttling,
// RequestLimitExceeded, TooManyRequestsException, …).
func IsThrottle(err error) bool {
	return err != nil && throttles.IsErrorThrottle(err) == sdkaws.TrueTernary
}

// middleware adds the counting middleware to every client of an account.
func (m *Metrics) middleware(account string) []func(*middleware.Stack) error {
	account = accountLabel(account)
	perCall := middleware.InitializeMiddlewareFunc("mamori.CountCalls", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		out, md, err := next.HandleInitialize(ctx, in)
		m.calls.WithLabelValues(account, awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx), Outcome(err)).Inc()
		return out, md, err
	})
	perAttempt := middleware.FinalizeMiddlewareFunc("mamori.CountAttempts", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		out, md, err := next.HandleFinalize(ctx, in)
		svc, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
		m.attempts.WithLabelValues(account, svc, op).Inc()
		if IsThrottle(err) {
			m.throttled.WithLabelValues(account, svc, op).Inc()
		}
		return out, md, err
	})
	return []func(*middleware.Stack) error{
		func(s *middleware.Stack) error { return s.Initialize.Add(perCall, middleware.After) },
		func(s *middleware.Stack) error {
			// After the retry middleware: once per attempt.
			if err := s.Finalize.Insert(perAttempt, "Retry", middleware.After); err != nil {
				return s.Finalize.Add(perAttempt, middleware.After)
			}
			return nil
		},
	}
}

// Outcome classifies an API call's error for the metrics: ok, throttled,
// access_denied or error.
func Outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case IsThrottle(err):
		return "throttled"
	case IsAccessDenied(err):
		return "access_denied"
	}
	return "error"
}

// IsAccessDenied reports whether AWS refused the call for lack of an IAM
// permission (AccessDenied, UnauthorizedOperation, AuthorizationError, …).
func IsAccessDenied(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
		"AuthorizationErrorException", "UnauthorizedException", "NotAuthorized", "Forbidden", "UnauthorizedAccess":
		return true
	}
	return false
}
