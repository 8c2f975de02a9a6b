package sescheck

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck/awsfake"
	"github.com/mamori/mamori/internal/check/awssvc/svctest"
)

// stats answers GetSendStatistics with 15-minute data points: each is
// {attempts, bounces, complaints, age}.
func stats(points ...[4]int) awsfake.Handler {
	return func(*awsfake.Request) (any, error) {
		var b strings.Builder
		for _, p := range points {
			at := time.Now().Add(-time.Duration(p[3]) * time.Hour).UTC().Format(time.RFC3339)
			fmt.Fprintf(&b, `<member><Timestamp>%s</Timestamp><DeliveryAttempts>%d</DeliveryAttempts><Bounces>%d</Bounces><Complaints>%d</Complaints><Rejects>0</Rejects></member>`, at, p[0], p[1], p[2])
		}
		return awsfake.XML("<SendDataPoints>" + b.String() + "</SendDataPoints>"), nil
	}
}

func ratesSpec(f *awsfake.Server) *Spec {
	s := (&Spec{}).defaults()
	s.Target = svctest.Target(f)
	return s
}

func (s *Spec) defaults() *Spec {
	k, _ := check.Lookup("aws_ses")
	d := k.New().(*Spec)
	*s = *d
	return s
}

func TestSESRates(t *testing.T) {
	cases := []struct {
		name   string
		points [][4]int
		want   check.Status
		text   string
	}{
		{"clean", [][4]int{{1000, 10, 0, 1}, {1000, 10, 0, 5}}, check.OK, "last 24h0m0s: 2000 sent, bounce rate 1.00%, complaint rate 0.000%"},
		{"old bounces do not count", [][4]int{{100, 0, 0, 1}, {100, 90, 5, 48}}, check.OK, "100 sent, bounce rate 0.00%"},
		{"bounces high", [][4]int{{1000, 60, 0, 1}}, check.Warning, "bounce rate 6.00%"},
		{"complaints critical", [][4]int{{1000, 0, 6, 1}}, check.Critical, "complaint rate 0.600%"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, env := svctest.Fake(t)
			f.Handle("ses", "GetSendStatistics", stats(c.points...))
			r := svctest.Check(t, env, "aws_ses", ratesSpec(f))
			if r.Status != c.want || !strings.Contains(r.Output, c.text) {
				t.Fatalf("got %s %q, want %s containing %q", r.Status, r.Output, c.want, c.text)
			}
		})
	}
}

func sendSpec(f *awsfake.Server, port int) *Spec {
	s := ratesSpec(f)
	s.RateWindow = 0
	s.From, s.To = "monitor@example.com", "mtest@localhost"
	s.Mailbox = Mailbox{Protocol: "imap", Host: "127.0.0.1", Port: port, User: "mtest", Folder: "INBOX"}
	s.Warning, s.Critical = time.Second, 2*time.Second
	return s
}

func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestSESSendFailures(t *testing.T) {
	f, env := svctest.Fake(t)
	f.Handle("ses", "SendEmail", func(r *awsfake.Request) (any, error) {
		return nil, &awsfake.Error{Status: 400, Code: "MessageRejected", Message: "Email address is not verified. The following identities failed the check in region AP-NORTHEAST-1: " + r.Form.Get("Source")}
	})
	if r := svctest.Check(t, env, "aws_ses", sendSpec(f, closedPort(t))); r.Status != check.Critical || !strings.Contains(r.Output, "Email address is not verified") {
		t.Fatalf("rejected: %s %q", r.Status, r.Output)
	}
	f.Handle("ses", "SendEmail", func(*awsfake.Request) (any, error) {
		return nil, &awsfake.Error{Status: 403, Code: "AccessDenied", Message: "not authorized to perform ses:SendEmail"}
	})
	if r := svctest.Check(t, env, "aws_ses", sendSpec(f, closedPort(t))); r.Status != check.Unknown || !strings.Contains(r.Output, "lack the IAM permission ses:SendEmail") {
		t.Fatalf("access denied: %s %q", r.Status, r.Output)
	}
	f.Fail("ses", "SendEmail", &awsfake.Error{Status: 400, Code: "Throttling", Message: "Maximum sending rate exceeded."})
	f.Handle("ses", "SendEmail", func(*awsfake.Request) (any, error) {
		return awsfake.XML("<MessageId>0000-test</MessageId>"), nil
	})
	r := svctest.Check(t, env, "aws_ses", sendSpec(f, closedPort(t)))
	if r.Status != check.Critical || !strings.Contains(r.Output, "test mail 0000-test → mtest@localhost sent but not in the mailbox after 2s (mailbox: ") || f.Calls("ses", "SendEmail") != 4 {
		t.Fatalf("sent after a throttle, never arrives: %s %q (%d calls)", r.Status, r.Output, f.Calls("ses", "SendEmail"))
	}
}

func TestSESValidate(t *testing.T) {
	s := (&Spec{}).defaults()
	s.To, s.RateWindow = "ops", 0
	if errs := s.Validate(); len(errs) != 3 {
		t.Fatalf("want from, to and mailbox_host: %v", errs)
	}
}
