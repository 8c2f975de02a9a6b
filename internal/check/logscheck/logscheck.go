// Package logscheck is the "aws_logs" check type: CloudWatch Logs events
// of a log group (e.g. a Lambda function's /aws/lambda/NAME) matching a
// filter pattern (FilterLogEvents). It keeps its position between runs, so
// each matching event alerts once; a window of overlap catches events that
// arrive late, deduplicated by event ID.
package logscheck

//go:generate go run ../../tools/sdkwrap -type logsClient -new newLogs -alias cwl github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs ListTagsForResource FilterLogEvents DescribeLogGroups

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

// Bounds and defaults.
const (
	DefaultMaxLines = 10
	maxLineShown    = 300
	maxPages        = 20 // of up to 10,000 events each
	// overlap is how far back each run looks again before its last end:
	// CloudWatch Logs may ingest an event minutes after its timestamp.
	overlap = 5 * time.Minute
)

func init() {
	check.Register(&check.Kind{
		Name:     "aws_logs",
		Label:    "AWS LOGS",
		Summary:  "new CloudWatch Logs events of a log group matching a filter pattern (each alerts once; position kept)",
		Scope:    check.ScopeServer,
		Timeout:  60 * time.Second,
		Attempts: 1, // a matching event is an event: alert on it at once
		New:      func() check.Spec { return &Spec{MatchStatus: "critical", MaxLines: DefaultMaxLines} },
	})
}

// Spec is the aws_logs check's configuration.
type Spec struct {
	awscheck.Target
	LogGroup        string        `yaml:"log_group" required:"true" help:"log group name or ARN, e.g. /aws/lambda/my-function"`
	FilterPattern   string        `yaml:"filter_pattern" required:"true" help:"CloudWatch Logs filter pattern, e.g. \"?ERROR ?Exception\" or { $.level = \"error\" }"`
	LogStreamPrefix string        `yaml:"log_stream_prefix" help:"only streams whose names start with this"`
	MatchStatus     string        `yaml:"match_status" help:"status of a run that finds new matching events: warning or critical"`
	Lookback        time.Duration `yaml:"lookback" help:"on the first run, how far back to look (default: only events from now on)"`
	MaxLines        int           `yaml:"max_lines" help:"matching events shown in the output (the rest are counted)"`
	StateFile       string        `yaml:"state_file" help:"file keeping the position across restarts (default: memory only)"`
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	errs := s.Target.Validate()
	if s.LogGroup == "" {
		errs = append(errs, check.Errf("log_group", "is required"))
	}
	if strings.TrimSpace(s.FilterPattern) == "" {
		errs = append(errs, check.Errf("filter_pattern", "is required (CloudWatch Logs filter pattern syntax)"))
	}
	if st, err := check.ParseStatus(s.MatchStatus); err != nil || (st != check.Warning && st != check.Critical) {
		errs = append(errs, check.Errf("match_status", "must be warning or critical, not %q", s.MatchStatus))
	}
	if s.Lookback < 0 || s.Lookback > 24*time.Hour {
		errs = append(errs, check.Errf("lookback", "must be between 0 and 24h"))
	}
	if s.MaxLines < 0 || s.MaxLines > 100 {
		errs = append(errs, check.Errf("max_lines", "must be between 0 and 100"))
	}
	return errs
}

// API is what the check needs of the CloudWatch Logs client.
type API interface {
	cwl.FilterLogEventsAPIClient
}

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	st, err := check.ParseStatus(s.MatchStatus)
	if err != nil {
		return nil, err
	}
	c, hub := &Checker{spec: *s, match: st}, awscheck.HubOf(env)
	return check.CheckerFunc(func(ctx context.Context) check.Result {
		api, ref, err := awscheck.Client(ctx, hub, &c.spec.Target, "logs", newLogs)
		if err != nil {
			return awscheck.ConfigError(err)
		}
		return c.Run(ctx, api, ref, time.Now())
	}), nil
}

// Checker keeps the position between runs.
type Checker struct {
	spec  Spec
	match check.Status
	mu    sync.Mutex // one run at a time
	pos   *Position
}

// Position is where the last run stopped.
type Position struct {
	Until time.Time        `json:"until"` // end of the last window read
	Seen  map[string]int64 `json:"seen"`  // event ID → timestamp (ms) within the overlap
}

// Run reads the events since the last run up to now.
func (c *Checker) Run(ctx context.Context, api API, ref cloudaws.Ref, now time.Time) check.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pos == nil {
		p, err := load(c.spec.StateFile)
		if err != nil {
			return check.Resultf(check.Unknown, "cannot read state: %v", err)
		}
		if p == nil {
			p = &Position{Until: now.Add(-c.spec.Lookback), Seen: map[string]int64{}}
		}
		c.pos = p
	}
	start := c.pos.Until.Add(-overlap)
	in := &cwl.FilterLogEventsInput{FilterPattern: aws.String(c.spec.FilterPattern),
		StartTime: aws.Int64(start.UnixMilli()), EndTime: aws.Int64(now.UnixMilli())}
	if strings.HasPrefix(c.spec.LogGroup, "arn:") {
		in.LogGroupIdentifier = aws.String(c.spec.LogGroup)
	} else {
		in.LogGroupName = aws.String(c.spec.LogGroup)
	}
	if c.spec.LogStreamPrefix != "" {
		in.LogStreamNamePrefix = aws.String(c.spec.LogStreamPrefix)
	}
	var lines []string
	matched := 0
	seen := map[string]int64{}
	p := cwl.NewFilterLogEventsPaginator(api, in)
	truncated := false
	for n := 0; p.HasMorePages(); n++ {
		if n == maxPages {
			truncated = true
			break
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			if awssvc.NotFound(err) {
				return awssvc.NotFoundResult("log group", c.spec.LogGroup, ref)
			}
			return awscheck.ErrorResult(ctx, ref, err)
		}
		for _, e := range page.Events {
			id, ts := aws.ToString(e.EventId), aws.ToInt64(e.Timestamp)
			seen[id] = ts
			if _, old := c.pos.Seen[id]; old {
				continue
			}
			matched++
			if len(lines) < c.spec.MaxLines {
				lines = append(lines, line(e.LogStreamName, ts, aws.ToString(e.Message)))
			}
		}
	}
	next := &Position{Until: now, Seen: map[string]int64{}}
	cut := now.Add(-overlap).UnixMilli()
	for id, ts := range seen {
		if ts >= cut {
			next.Seen[id] = ts
		}
	}
	if err := save(c.spec.StateFile, next); err != nil {
		return check.Resultf(check.Unknown, "cannot save state: %v", err)
	}
	c.pos = next
	return c.result(matched, lines, truncated)
}

func (c *Checker) result(matched int, lines []string, truncated bool) check.Result {
	r := check.Result{Status: check.OK}.With(check.Metric{Label: "matches", Value: float64(matched), Warn: check.NaN, Crit: check.NaN, Min: 0, Max: check.NaN})
	more := ""
	if truncated {
		more = " (more not read: the run stopped at its page limit)"
	}
	if matched == 0 {
		r.Output = fmt.Sprintf("%s: no new events matching %s%s", c.spec.LogGroup, c.spec.FilterPattern, more)
		return r
	}
	r.Status = c.match
	r.Output = check.OneLine(fmt.Sprintf("%s: %d new events matching %s%s: %s", c.spec.LogGroup, matched, c.spec.FilterPattern, more, lines[0]))
	if len(lines) > 0 {
		r.Long = strings.Join(lines, "\n")
		if matched > len(lines) {
			r.Long += fmt.Sprintf("\n… and %d more", matched-len(lines))
		}
	}
	return r
}

func line(stream *string, ts int64, msg string) string {
	msg = check.OneLine(msg)
	if len(msg) > maxLineShown {
		msg = msg[:maxLineShown] + "…"
	}
	return fmt.Sprintf("%s %s %s", time.UnixMilli(ts).UTC().Format("2006-01-02T15:04:05Z"), aws.ToString(stream), msg)
}
