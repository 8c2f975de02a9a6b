// Package sescheck is the "aws_ses" check type: it sends a test mail through
// Amazon SES (SendEmail) and waits for it in a mailbox (IMAP or POP3),
// deleting it there, and grades the account's bounce and complaint rates
// (GetSendStatistics) against the limits at which AWS reviews an account.
package sescheck

//go:generate go run ../../tools/sdkwrap -type sesClient -new newSES github.com/aws/aws-sdk-go-v2/service/ses GetSendStatistics SendEmail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

// Defaults: AWS reviews an account at a 5 % bounce or 0.1 % complaint rate
// and may pause sending at 10 % / 0.5 %.
const (
	DefaultBounceWarning     = 5.0
	DefaultBounceCritical    = 10.0
	DefaultComplaintWarning  = 0.1
	DefaultComplaintCritical = 0.5
)

func init() {
	check.Register(&check.Kind{
		Name:    "aws_ses",
		Label:   "AWS SES",
		Summary: "send a test mail through SES and wait for it in a mailbox (IMAP/POP3); bounce and complaint rates",
		Scope:   check.ScopeServer,
		Timeout: 3 * time.Minute,
		New: func() check.Spec {
			return &Spec{RateWindow: 24 * time.Hour, BounceWarning: DefaultBounceWarning, BounceCritical: DefaultBounceCritical,
				ComplaintWarning: DefaultComplaintWarning, ComplaintCritical: DefaultComplaintCritical,
				Warning: time.Minute, Critical: 150 * time.Second, Mailbox: Mailbox{Protocol: "imap", Folder: "INBOX"}}
		},
	})
}

// Spec is the aws_ses check's configuration.
type Spec struct {
	awscheck.Target
	From              string        `yaml:"from" help:"verified sender address of the test mail"`
	To                string        `yaml:"to" help:"recipient of the test mail (the mailbox below); empty: rates only"`
	Warning           time.Duration `yaml:"warning" help:"WARNING when the test mail takes longer to arrive"`
	Critical          time.Duration `yaml:"critical" help:"CRITICAL when the test mail has not arrived by then"`
	RateWindow        time.Duration `yaml:"rate_window" help:"period over which bounce and complaint rates are computed (0: rates not checked)"`
	BounceWarning     float64       `yaml:"bounce_warning" help:"bounce rate % for WARNING"`
	BounceCritical    float64       `yaml:"bounce_critical" help:"bounce rate % for CRITICAL"`
	ComplaintWarning  float64       `yaml:"complaint_warning" help:"complaint rate % for WARNING"`
	ComplaintCritical float64       `yaml:"complaint_critical" help:"complaint rate % for CRITICAL"`
	Mailbox
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	errs := s.Target.Validate()
	if s.To != "" {
		if !strings.Contains(s.From, "@") {
			errs = append(errs, check.Errf("from", "is required with to: a sender address verified in SES"))
		}
		if !strings.Contains(s.To, "@") {
			errs = append(errs, check.Errf("to", "must be a mail address, not %q", s.To))
		}
		if s.Mailbox.Host == "" {
			errs = append(errs, check.Errf("mailbox_host", "is required with to: where the test mail is read"))
		} else {
			errs = append(errs, s.Mailbox.validate()...)
		}
		if s.Critical <= 0 || s.Warning > s.Critical {
			errs = append(errs, check.Errf("critical", "must be positive and not below warning"))
		}
	}
	if s.To == "" && s.RateWindow == 0 {
		errs = append(errs, check.Errf("to", "give to (send test) or rate_window (rates), or both"))
	}
	if s.RateWindow < 0 || s.RateWindow > 14*24*time.Hour {
		errs = append(errs, check.Errf("rate_window", "must be between 0 and 14 days (SES keeps two weeks)"))
	}
	return errs
}

// API is what the check needs of the SES client.
type API interface {
	SendEmail(ctx context.Context, in *ses.SendEmailInput, opt ...func(*ses.Options)) (*ses.SendEmailOutput, error)
	GetSendStatistics(ctx context.Context, in *ses.GetSendStatisticsInput, opt ...func(*ses.Options)) (*ses.GetSendStatisticsOutput, error)
}

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	sp, hub := *s, awscheck.HubOf(env)
	return check.CheckerFunc(func(ctx context.Context) check.Result {
		api, ref, err := awscheck.Client(ctx, hub, &sp.Target, "email", newSES)
		if err != nil {
			return awscheck.ConfigError(err)
		}
		return sp.Run(ctx, api, ref)
	}), nil
}

// Run grades the rates, then sends the test mail and waits for it.
func (s *Spec) Run(ctx context.Context, api API, ref cloudaws.Ref) check.Result {
	st := check.OK
	var parts []string
	var perf []check.Metric
	if s.RateWindow > 0 {
		out, err := api.GetSendStatistics(ctx, &ses.GetSendStatisticsInput{})
		if err != nil {
			return awscheck.ErrorResult(ctx, ref, err)
		}
		rs, text, rperf := s.rates(out.SendDataPoints, time.Now())
		st, parts, perf = rs, append(parts, text), rperf
	}
	if s.To != "" {
		ts, text, tperf, res := s.roundTrip(ctx, api, ref)
		if res != nil {
			return *res
		}
		st, parts, perf = check.Worst(st, ts), append([]string{text}, parts...), append(tperf, perf...)
	}
	return check.Resultf(st, "%s", strings.Join(parts, "; ")).With(perf...)
}

// rates sums the data points of the window.
func (s *Spec) rates(points []types.SendDataPoint, now time.Time) (check.Status, string, []check.Metric) {
	var sent, bounces, complaints int64
	for _, p := range points {
		if p.Timestamp != nil && now.Sub(*p.Timestamp) <= s.RateWindow {
			sent += p.DeliveryAttempts
			bounces += p.Bounces
			complaints += p.Complaints
		}
	}
	var b, c float64
	if sent > 0 {
		b, c = 100*float64(bounces)/float64(sent), 100*float64(complaints)/float64(sent)
	}
	st := check.Worst(grade(b, s.BounceWarning, s.BounceCritical), grade(c, s.ComplaintWarning, s.ComplaintCritical))
	text := fmt.Sprintf("last %s: %d sent, bounce rate %.2f%%, complaint rate %.3f%%", s.RateWindow, sent, b, c)
	return st, text, []check.Metric{
		{Label: "bounce_rate", Value: round(b), Unit: "%", Warn: s.BounceWarning, Crit: s.BounceCritical, Min: 0, Max: 100},
		{Label: "complaint_rate", Value: round(c), Unit: "%", Warn: s.ComplaintWarning, Crit: s.ComplaintCritical, Min: 0, Max: 100},
		check.M("sent", float64(sent), "c"),
	}
}

func round(v float64) float64 { return float64(int64(v*1e4+0.5)) / 1e4 }

func grade(v, warn, crit float64) check.Status {
	switch {
	case crit > 0 && v >= crit:
		return check.Critical
	case warn > 0 && v >= warn:
		return check.Warning
	}
	return check.OK
}

// roundTrip sends the test mail and polls the mailbox until it arrives or
// the critical time passes.
func (s *Spec) roundTrip(ctx context.Context, api API, ref cloudaws.Ref) (check.Status, string, []check.Metric, *check.Result) {
	b := make([]byte, 8)
	rand.Read(b)
	token := "mamori-ses-" + hex.EncodeToString(b)
	start := time.Now()
	out, err := api.SendEmail(ctx, &ses.SendEmailInput{
		Source:      aws.String(s.From),
		Destination: &types.Destination{ToAddresses: []string{s.To}},
		Message: &types.Message{
			Subject: &types.Content{Data: aws.String("mamori SES test " + token), Charset: aws.String("UTF-8")},
			Body:    &types.Body{Text: &types.Content{Data: aws.String("Test mail of the mamori aws_ses check; it is deleted when read.\r\n" + token + "\r\n"), Charset: aws.String("UTF-8")}},
		},
	})
	if err != nil {
		r := awscheck.ErrorResult(ctx, ref, err)
		r.Status = check.Worst(r.Status, sendStatus(err))
		return 0, "", nil, &r
	}
	pctx, cancel := context.WithTimeout(ctx, s.Critical)
	defer cancel()
	var lastErr error
	for delay := time.Second; ; delay = min(delay*2, 10*time.Second) {
		found, err := s.Mailbox.take(pctx, token)
		if found {
			took := time.Since(start)
			st := check.ByDuration(took, s.Warning, s.Critical)
			text := fmt.Sprintf("test mail %s → %s arrived in %s", aws.ToString(out.MessageId), s.To, took.Round(100*time.Millisecond))
			return st, text, []check.Metric{check.Seconds("delivery", took, s.Warning, s.Critical)}, nil
		}
		lastErr = err
		select {
		case <-pctx.Done():
			why := ""
			if lastErr != nil {
				why = " (mailbox: " + check.ErrText(pctx, lastErr) + ")"
			}
			r := check.Resultf(check.Critical, "test mail %s → %s sent but not in the mailbox after %s%s", aws.ToString(out.MessageId), s.To, s.Critical, why)
			return 0, "", nil, &r
		case <-time.After(delay):
		}
	}
}

// sendStatus: SES refusing the message (sending paused, address not
// verified) is a failure of the service being watched, not of the check.
func sendStatus(err error) check.Status {
	msg := err.Error()
	for _, code := range []string{"MessageRejected", "MailFromDomainNotVerified", "AccountSendingPausedException", "ConfigurationSetSendingPausedException"} {
		if strings.Contains(msg, code) {
			return check.Critical
		}
	}
	return check.Unknown
}
