package awsfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// HealthRegion is the region AWS Health's global endpoint is signed for.
const HealthRegion = "us-east-1"

// HealthEvent is an AWS Health event of the fake.
type HealthEvent struct {
	ARN, Service, TypeCode string
	Category               string // issue, scheduledChange, accountNotification, investigation
	Region, Zone           string
	Status                 string // open, closed, upcoming
	Scope                  string // ACCOUNT_SPECIFIC (default), PUBLIC
	Start, End             time.Time
	Entities               []HealthEntity
}

// HealthEntity is a resource an event affects.
type HealthEntity struct {
	Value, ARN string
	Status     string // IMPAIRED, UNIMPAIRED, UNKNOWN, PENDING, RESOLVED
}

// Health answers the AWS Health API (JSON 1.1, X-Amz-Target
// AWSHealth_20160804.*) from events a test sets: DescribeEvents with its
// filter and pages, DescribeAffectedEntities. Like AWS it takes only
// requests signed for us-east-1 and the service name "health".
type Health struct {
	mu       sync.Mutex
	events   []HealthEvent
	filters  []map[string]any
	pageSize int
}

// NewHealth installs the Health handlers on s.
func NewHealth(s *Server) *Health {
	h := &Health{}
	s.AddRegion(HealthRegion)
	s.Handle("health", "DescribeEvents", h.describeEvents)
	s.Handle("health", "DescribeAffectedEntities", h.describeEntities)
	return h
}

// Set replaces the account's events.
func (h *Health) Set(events ...HealthEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append([]HealthEvent(nil), events...)
}

// PageSize makes answers at most n items long (paging tests); 0: maxResults.
func (h *Health) PageSize(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pageSize = n
}

// Filters lists the filter of every DescribeEvents call so far.
func (h *Health) Filters() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.filters...)
}

// SubscriptionRequired is AWS Health's answer to an account without a
// Business, Enterprise On-Ramp or Enterprise support plan.
func SubscriptionRequired() *Error {
	return &Error{Status: 400, Code: "SubscriptionRequiredException", Message: "The AWS Premium Support subscription is required to use this service."}
}

// healthRequest checks what AWS Health checks of every request.
func healthRequest(r *Request) error {
	if r.Region != HealthRegion {
		return &Error{Status: 403, Code: "SignatureDoesNotMatch", Message: fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", r.Region)}
	}
	if r.Protocol != JSON || r.HTTP.Method != http.MethodPost || r.HTTP.URL.Path != "/" ||
		r.HTTP.Header.Get("Content-Type") != "application/x-amz-json-1.1" ||
		r.HTTP.Header.Get("X-Amz-Target") != "AWSHealth_20160804."+r.Operation {
		return &Error{Status: 400, Code: "UnknownOperationException", Message: "not an AWS Health JSON 1.1 request"}
	}
	return nil
}

// strs reads a list of strings of a decoded JSON body.
func strs(m map[string]any, key string) []string {
	list, _ := m[key].([]any)
	out := make([]string, 0, len(list))
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// page cuts items per maxResults and nextToken (an index).
func page[T any](items []T, in map[string]any, size int) ([]T, string, error) {
	max := 100
	if n, ok := in["maxResults"].(json.Number); ok {
		v, err := n.Int64()
		if err != nil || v < 10 || v > 100 {
			return nil, "", &Error{Status: 400, Code: "ValidationException", Message: "maxResults must be between 10 and 100"}
		}
		max = int(v)
	}
	if size > 0 && size < max {
		max = size
	}
	from := 0
	if tok := Field(in, "nextToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", &Error{Status: 400, Code: "InvalidPaginationToken", Message: "invalid nextToken"}
		}
		from = n
	}
	to := min(from+max, len(items))
	next := ""
	if to < len(items) {
		next = strconv.Itoa(to)
	}
	return items[from:to], next, nil
}

func matches(want []string, v string) bool { return len(want) == 0 || slices.Contains(want, v) }

func (h *Health) describeEvents(r *Request) (any, error) {
	if err := healthRequest(r); err != nil {
		return nil, err
	}
	f, _ := r.Input["filter"].(map[string]any)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.filters = append(h.filters, f)
	status, services, regions, cats, values := strs(f, "eventStatusCodes"), strs(f, "services"), strs(f, "regions"), strs(f, "eventTypeCategories"), strs(f, "entityValues")
	var out []map[string]any
	for _, e := range h.events {
		if !matches(status, e.Status) || !matches(services, e.Service) || !matches(regions, e.Region) || !matches(cats, e.Category) {
			continue
		}
		// As AWS does, an entity filter also lets public events through.
		if len(values) > 0 && e.Scope != "PUBLIC" && !slices.ContainsFunc(e.Entities, func(en HealthEntity) bool { return slices.Contains(values, en.Value) }) {
			continue
		}
		out = append(out, eventJSON(e))
	}
	items, next, err := page(out, r.Input, h.pageSize)
	if err != nil {
		return nil, err
	}
	res := map[string]any{"events": items}
	if next != "" {
		res["nextToken"] = next
	}
	return res, nil
}

func epochSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func eventJSON(e HealthEvent) map[string]any {
	scope := e.Scope
	if scope == "" {
		scope = "ACCOUNT_SPECIFIC"
	}
	m := map[string]any{"arn": e.ARN, "service": e.Service, "eventTypeCode": e.TypeCode, "eventTypeCategory": e.Category,
		"region": e.Region, "statusCode": e.Status, "eventScopeCode": scope,
		"startTime": epochSeconds(e.Start), "lastUpdatedTime": epochSeconds(e.Start)}
	if e.Zone != "" {
		m["availabilityZone"] = e.Zone
	}
	if !e.End.IsZero() {
		m["endTime"] = epochSeconds(e.End)
	}
	return m
}

func (h *Health) describeEntities(r *Request) (any, error) {
	if err := healthRequest(r); err != nil {
		return nil, err
	}
	f, _ := r.Input["filter"].(map[string]any)
	arns := strs(f, "eventArns")
	if len(arns) < 1 || len(arns) > 10 {
		return nil, &Error{Status: 400, Code: "ValidationException", Message: fmt.Sprintf("filter.eventArns must have 1 to 10 members, got %d", len(arns))}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]any
	for _, e := range h.events {
		if !slices.Contains(arns, e.ARN) || e.Scope == "PUBLIC" {
			continue
		}
		for _, en := range e.Entities {
			out = append(out, map[string]any{"eventArn": e.ARN, "entityValue": en.Value, "entityArn": en.ARN, "statusCode": en.Status,
				"awsAccountId": "123456789012", "lastUpdatedTime": epochSeconds(e.Start)})
		}
	}
	items, next, err := page(out, r.Input, h.pageSize)
	if err != nil {
		return nil, err
	}
	res := map[string]any{"entities": items}
	if next != "" {
		res["nextToken"] = next
	}
	return res, nil
}
