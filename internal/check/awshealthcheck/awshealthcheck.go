// Package awshealthcheck is the `aws_health` check type: what AWS Health
// says about the account — scheduled changes (maintenance, retirements)
// and open issues affecting its resources — from DescribeEvents (open and
// upcoming events, optionally of some services, regions or categories) and
// DescribeAffectedEntities (which resources). An upcoming scheduled change
// is WARNING with its date and resources; an open issue affecting the
// account's resources CRITICAL; an account notification WARNING.
//
// The Health API needs a Business, Enterprise On-Ramp or Enterprise
// support plan; without one AWS answers SubscriptionRequiredException and
// the check is UNKNOWN saying so.
package awshealthcheck

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

// Categories are the event type categories of AWS Health.
var Categories = []string{"issue", "scheduledChange", "accountNotification", "investigation"}

// IAM lists the permissions the check needs.
var IAM = []string{"health:DescribeEvents", "health:DescribeAffectedEntities"}

// shareFor is how long one DescribeEvents answer serves every aws_health
// check of the same account and filter.
const shareFor = time.Minute

func init() {
	check.Register(&check.Kind{
		Name:    "aws_health",
		Label:   "AWS_HEALTH",
		Summary: "AWS Health: open issues and scheduled changes affecting the account's resources (Health API; needs Business support)",
		Scope:   check.ScopeServer,
		Timeout: 30 * time.Second,
		New:     func() check.Spec { return &Spec{Public: true} },
	})
}

// Spec is the aws_health check's configuration.
type Spec struct {
	awscheck.Target
	Services     []string      `yaml:"services" help:"only events of these services (EC2, RDS, ELASTICLOADBALANCING …; default: all)"`
	Regions      []string      `yaml:"regions" help:"only events in these regions (ap-northeast-1, global …; default: all)"`
	Categories   []string      `yaml:"categories" help:"only these event categories: issue, scheduledChange, accountNotification, investigation (default: all)"`
	Entities     []string      `yaml:"entities" help:"only events affecting these resources (instance ids, ARNs …; default: all)"`
	ChangeWithin time.Duration `yaml:"change_within" help:"only scheduled changes starting within this are WARNING (default: every upcoming one)"`
	Public       bool          `yaml:"public" help:"report open public events (AWS-wide, not tied to the account's resources) as WARNING"`
}

var (
	serviceRE = regexp.MustCompile(`^[A-Z0-9_]{2,30}$`)
	regionRE  = regexp.MustCompile(`^(global|[a-z]{2}(-[a-z]+)+-\d)$`)
)

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	errs := s.Target.Validate()
	for _, v := range s.Services {
		if !serviceRE.MatchString(v) {
			errs = append(errs, check.Errf("services", "%q is not a Health service code (upper case: EC2, RDS, S3 …)", v))
		}
	}
	for _, v := range s.Regions {
		if !regionRE.MatchString(v) {
			errs = append(errs, check.Errf("regions", "%q is not a region (ap-northeast-1) or global", v))
		}
	}
	for _, v := range s.Categories {
		if !slices.Contains(Categories, v) {
			errs = append(errs, check.Errf("categories", "%q is not one of %s", v, strings.Join(Categories, ", ")))
		}
	}
	if len(s.Entities) > 99 {
		errs = append(errs, check.Errf("entities", "at most 99 (the Health API's limit), got %d", len(s.Entities)))
	}
	if s.ChangeWithin < 0 {
		errs = append(errs, check.Errf("change_within", "must not be negative"))
	}
	return errs
}

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	sp, hub := *s, awscheck.HubOf(env)
	return check.CheckerFunc(func(ctx context.Context) check.Result {
		api, ref, err := client(ctx, hub, &sp.Target)
		if err != nil {
			return awscheck.ConfigError(err)
		}
		return sp.Run(ctx, api, hub, ref, time.Now())
	}), nil
}

// client is the account's Health client. The API is global: a check that
// names no region, of an account that has none, still runs (us-east-1).
func client(ctx context.Context, hub *cloudaws.Hub, t *awscheck.Target) (*Client, cloudaws.Ref, error) {
	tg := *t
	if tg.Region == "" {
		if _, err := hub.Resolve(ctx, tg.Ref()); err != nil && strings.Contains(err.Error(), "no region") {
			tg.Region = "us-east-1"
		}
	}
	return awscheck.Client(ctx, hub, &tg, "health", NewClient)
}

// API is what the check needs of the Health client.
type API interface {
	DescribeEvents(ctx context.Context, f EventFilter) ([]Event, error)
	DescribeAffectedEntities(ctx context.Context, eventARNs []string) ([]Entity, error)
}

// Filter is the DescribeEvents filter of the check.
func (s *Spec) Filter() EventFilter {
	return EventFilter{EventStatusCodes: []string{"open", "upcoming"}, Services: s.Services, Regions: s.Regions,
		EventTypeCategories: s.Categories, EntityValues: s.Entities}
}

// found is one account's open and upcoming events with their resources.
type found struct {
	events   []Event
	entities map[string][]Entity // by event ARN
}

// Run asks Health through api and grades what it says; hub and ref name
// the account for sharing the answer between checks of the same filter.
func (s *Spec) Run(ctx context.Context, api API, hub *cloudaws.Hub, ref cloudaws.Ref, now time.Time) check.Result {
	f := s.Filter()
	key, _ := json.Marshal(f)
	got, err := awssvc.Describe(ctx, hub, ref.String()+"|"+ref.EndpointURL+"|health|"+string(key), shareFor, func(ctx context.Context) (found, error) {
		return describe(ctx, api, f)
	})
	if err != nil {
		if cloudaws.ErrorCode(err) == "SubscriptionRequiredException" {
			return check.Resultf(check.Unknown, "%s: AWS Health: %s; without one, watch maintenance per resource (aws_ec2 scheduled events, aws_rds pending maintenance)",
				ref, cloudaws.Explain(err, ref.Region))
		}
		return awscheck.ErrorResult(ctx, ref, err)
	}
	return s.grade(got, now)
}

func describe(ctx context.Context, api API, f EventFilter) (found, error) {
	events, err := api.DescribeEvents(ctx, f)
	if err != nil {
		return found{}, err
	}
	var arns []string
	for _, e := range events {
		if e.EventScopeCode != "PUBLIC" {
			arns = append(arns, e.ARN)
		}
	}
	res := found{events: events, entities: map[string][]Entity{}}
	if len(arns) == 0 {
		return res, nil
	}
	ents, err := api.DescribeAffectedEntities(ctx, arns)
	if err != nil {
		return found{}, err
	}
	for _, e := range ents {
		res.entities[e.EventArn] = append(res.entities[e.EventArn], e)
	}
	return res, nil
}

// line is one reported event.
type line struct {
	status check.Status
	at     time.Time
	text   string
}

// grade turns the events into the result: the worst event decides, the
// output names each (worst and soonest first) with its date and resources.
func (s *Spec) grade(got found, now time.Time) check.Result {
	var lines []line
	count := map[string]int{}
	for _, e := range got.events {
		l, ok := s.judge(e, got.entities[e.ARN], now)
		if !ok {
			continue
		}
		count[e.EventTypeCategory]++
		lines = append(lines, l)
	}
	sort.SliceStable(lines, func(i, j int) bool {
		if lines[i].status != lines[j].status {
			return check.Worst(lines[i].status, lines[j].status) == lines[i].status
		}
		return lines[i].at.Before(lines[j].at)
	})
	perf := []check.Metric{check.M("open_issues", float64(count["issue"]), ""), check.M("scheduled_changes", float64(count["scheduledChange"]), ""),
		check.M("notifications", float64(count["accountNotification"]+count["investigation"]), "")}
	if len(lines) == 0 {
		r := check.Resultf(check.OK, "no open issue or scheduled change%s", s.scope())
		r.Perf = perf
		return r
	}
	st := check.OK
	texts := make([]string, 0, len(lines))
	for _, l := range lines {
		st = check.Worst(st, l.status)
		texts = append(texts, l.text)
	}
	more := ""
	if len(texts) > 3 {
		more = fmt.Sprintf(" (+%d more)", len(texts)-3)
		texts = texts[:3]
	}
	r := check.Resultf(st, "%s%s", check.OneLine(strings.Join(texts, "; ")), more)
	r.Perf = perf
	return r
}

func (s *Spec) scope() string {
	var parts []string
	if len(s.Services) > 0 {
		parts = append(parts, strings.Join(s.Services, ","))
	}
	if len(s.Regions) > 0 {
		parts = append(parts, strings.Join(s.Regions, ","))
	}
	if len(s.Entities) > 0 {
		parts = append(parts, strings.Join(s.Entities, ","))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, " ") + ")"
}

// judge decides one event's status, or that it is not reported.
func (s *Spec) judge(e Event, ents []Entity, now time.Time) (line, bool) {
	names, affected := resources(ents, s.Entities)
	public := e.EventScopeCode == "PUBLIC"
	if len(s.Entities) > 0 && !public && len(names) == 0 {
		return line{}, false // Health may return events of other resources when filtering by entity
	}
	if public && !s.Public {
		return line{}, false
	}
	where := e.Region
	if e.AvailabilityZone != "" {
		where = e.AvailabilityZone
	}
	head := fmt.Sprintf("%s %s (%s)", e.Service, e.EventTypeCode, where)
	l := line{status: check.Warning, at: e.StartTime.Time}
	switch e.EventTypeCategory {
	case "scheduledChange":
		if e.StatusCode == "upcoming" && s.ChangeWithin > 0 && e.StartTime.Sub(now) > s.ChangeWithin {
			return line{}, false
		}
		when := "starts " + awssvc.When(e.StartTime.Time)
		if e.StatusCode == "open" {
			when = "in progress since " + awssvc.When(e.StartTime.Time)
		}
		l.text = fmt.Sprintf("scheduled change %s %s", head, when)
	case "issue":
		l.text = fmt.Sprintf("open issue %s since %s", head, awssvc.When(e.StartTime.Time))
		switch {
		case public:
			l.text = "public " + l.text
		case affected || len(ents) == 0:
			l.status = check.Critical
		default:
			l.text += " (its resources have recovered)"
		}
	case "accountNotification":
		l.text = fmt.Sprintf("account notification %s since %s", head, awssvc.When(e.StartTime.Time))
	default:
		l.text = fmt.Sprintf("%s %s since %s", e.EventTypeCategory, head, awssvc.When(e.StartTime.Time))
	}
	if len(names) > 0 {
		l.text += ": " + listNames(names)
	}
	return l, true
}

// resources names the affected resources (those of only, if given) and
// says whether any is still affected (not resolved or unimpaired).
func resources(ents []Entity, only []string) ([]string, bool) {
	var names []string
	affected := false
	for _, e := range ents {
		name := e.EntityValue
		if name == "" {
			name = e.EntityArn
		}
		if len(only) > 0 && !slices.Contains(only, e.EntityValue) && !slices.Contains(only, e.EntityArn) {
			continue
		}
		switch e.StatusCode {
		case "RESOLVED", "UNIMPAIRED":
			continue
		}
		affected = true
		if name != "" && name != "UNKNOWN" {
			names = append(names, name)
		}
	}
	return names, affected
}

func listNames(names []string) string {
	sort.Strings(names)
	names = slices.Compact(names)
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + fmt.Sprintf(" (+%d more)", len(names)-5)
	}
	return strings.Join(names, ", ")
}
