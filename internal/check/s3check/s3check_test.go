package s3check

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck/awsfake"
	"github.com/mamori/mamori/internal/check/awssvc/svctest"
)

// s3fake is a real S3 implementation (gofakes3) behind the fake's SigV4
// verification.
func s3fake(t *testing.T, objectTime time.Time) (*awsfake.Server, check.Env, http.Handler) {
	backend := s3mem.New(s3mem.WithTimeSource(gofakes3.FixedTimeSource(objectTime)))
	if err := backend.CreateBucket("backups"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"db/2026-12-01.sql.gz", "db/2026-12-02.sql.gz", "web/index.html"} {
		body := "dump of " + k
		if _, err := backend.PutObject("backups", k, map[string]string{"Last-Modified": objectTime.UTC().Format(http.TimeFormat)}, strings.NewReader(body), int64(len(body)), nil); err != nil {
			t.Fatal(err)
		}
	}
	f, env := svctest.Fake(t)
	h := gofakes3.New(backend, gofakes3.WithTimeSkewLimit(0)).Server()
	f.HandleREST("s3", h)
	return f, env, h
}

func newSpec(f *awsfake.Server) *Spec {
	return &Spec{Target: svctest.Target(f), Bucket: "backups", Prefix: "db/", Key: "db/2026-12-02.sql.gz", Warning: 5 * time.Second, Critical: 15 * time.Second}
}

func TestS3(t *testing.T) {
	f, env, _ := s3fake(t, time.Now().Add(-2*time.Hour))
	s := newSpec(f)
	s.MaxAge = 26 * time.Hour
	r := svctest.Check(t, env, "aws_s3", s)
	if r.Status != check.OK || !strings.Contains(r.Output, "s3://backups/db/: 2 objects listed; got db/2026-12-02.sql.gz (28 bytes)") {
		t.Fatalf("ok: %s %q", r.Status, r.Output)
	}
	s.Warning = time.Nanosecond
	if r := svctest.Check(t, env, "aws_s3", s); r.Status != check.Warning {
		t.Fatalf("slow: %s %q", r.Status, r.Output)
	}

	s = newSpec(f)
	s.Key = "db/2026-12-03.sql.gz"
	if r := svctest.Check(t, env, "aws_s3", s); r.Status != check.Critical || !strings.Contains(r.Output, "s3://backups/db/2026-12-03.sql.gz does not exist") {
		t.Fatalf("missing object: %s %q", r.Status, r.Output)
	}
}

func TestS3Old(t *testing.T) {
	f, env, _ := s3fake(t, time.Now().Add(-30*time.Hour))
	s := newSpec(f)
	s.MaxAge = 26 * time.Hour
	if r := svctest.Check(t, env, "aws_s3", s); r.Status != check.Critical || !strings.Contains(r.Output, "older than 26h0m0s") {
		t.Fatalf("old backup: %s %q", r.Status, r.Output)
	}
}

func TestS3APIErrors(t *testing.T) {
	f, env, real := s3fake(t, time.Now())
	s := newSpec(f)
	s.Bucket = "backups-us"
	if r := svctest.Check(t, env, "aws_s3", s); r.Status != check.Critical || !strings.Contains(r.Output, "bucket backups-us not found in region ap-northeast-1") {
		t.Fatalf("no bucket: %s %q", r.Status, r.Output)
	}
	throttled := 1
	denied := false
	f.HandleREST("s3", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if denied {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>1</RequestId></Error>`))
			return
		}
		if throttled > 0 {
			throttled--
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>1</RequestId></Error>`))
			return
		}
		real.ServeHTTP(w, r)
	}))
	if r := svctest.Check(t, env, "aws_s3", newSpec(f)); r.Status != check.OK {
		t.Fatalf("throttled once: %s %q", r.Status, r.Output)
	}
	denied = true
	if r := svctest.Check(t, env, "aws_s3", newSpec(f)); r.Status != check.Unknown || !strings.Contains(r.Output, "lack the IAM permission s3:ListBucket") {
		t.Fatalf("access denied: %s %q", r.Status, r.Output)
	}
}
