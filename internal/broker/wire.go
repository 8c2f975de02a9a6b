// Package broker carries zone checks between the server and the pollers of
// each zone over NATS JetStream: the subjects and streams, the job and
// result codec, the connection (credentials, TLS), the server's dispatcher
// (jobs into a zone's work queue) and its durable consumer of results.
package broker

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// Version of the job and result encoding.
const Version = 1

// Names on the broker. A zone's pollers may use only their zone's names
// (see docs/pollers.md for the permissions).
const (
	ResultStream   = "MAMORI_RESULTS" // every zone's results; the server consumes it
	ServerConsumer = "server"         // the server's durable consumer of ResultStream
	PollerConsumer = "pollers"        // the zone's pollers share this durable consumer
)

// JobStream is the work queue of a zone's jobs.
func JobStream(zone string) string { return "MAMORI_JOBS_" + zone }

// JobSubjects is what a zone's job stream holds.
func JobSubjects(zone string) string { return "mamori.jobs." + zone + ".>" }

// JobSubject is a check's subject in its zone: one subject per check, so
// that the stream keeps only the newest job of each (a job not taken
// before the next one is queued has expired).
func JobSubject(zone, checkName string) string {
	h := fnv.New64a()
	h.Write([]byte(checkName))
	return fmt.Sprintf("mamori.jobs.%s.%016x", zone, h.Sum64())
}

// ResultSubject is where a zone's pollers publish results.
func ResultSubject(zone string) string { return "mamori.results." + zone }

// InboxPrefix is a zone's reply subjects' prefix: its pollers may
// subscribe only below it.
func InboxPrefix(zone string) string { return "_INBOX_" + zone }

// Job is one due run of a zone's check.
type Job struct {
	V        int       `json:"v"`
	Check    string    `json:"check"`
	Type     string    `json:"type"`
	Zone     string    `json:"zone"`
	Host     string    `json:"host,omitempty"`    // the owning host's name
	Address  string    `json:"address,omitempty"` // its address: the default target
	Spec     string    `json:"spec,omitempty"`    // the check's own keys (YAML), decoded by its type
	Digest   string    `json:"digest"`            // changes with the configuration
	Interval float64   `json:"interval_s"`        // seconds
	Timeout  float64   `json:"timeout_s"`         // seconds (0: the type's default)
	Due      time.Time `json:"due"`
}

// Result is a poller's run of a job.
type Result struct {
	V        int       `json:"v"`
	Check    string    `json:"check"`
	Zone     string    `json:"zone"`
	Poller   string    `json:"poller"`
	Time     time.Time `json:"t"` // when the run started (the result's time)
	Due      time.Time `json:"due,omitempty"`
	Status   int       `json:"status"`
	Output   string    `json:"output"`
	Long     string    `json:"long,omitempty"`
	Perf     string    `json:"perf,omitempty"`
	Duration float64   `json:"duration_s"`
	Offline  bool      `json:"offline,omitempty"` // run from the poller's cache while the broker was unreachable
}

// Limits on what a decoder accepts.
const (
	maxMsg    = 1 << 20
	maxOutput = 64 << 10
)

// EncodeJob encodes a job.
func EncodeJob(j Job) ([]byte, error) {
	j.V = Version
	if err := j.validate(); err != nil {
		return nil, err
	}
	return json.Marshal(j)
}

// DecodeJob decodes and checks a job.
func DecodeJob(b []byte) (Job, error) {
	var j Job
	if len(b) > maxMsg {
		return j, fmt.Errorf("job of %d bytes: over %d", len(b), maxMsg)
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return j, fmt.Errorf("job: %w", err)
	}
	if j.V != Version {
		return j, fmt.Errorf("job: version %d, want %d", j.V, Version)
	}
	return j, j.validate()
}

func (j Job) validate() error {
	var errs []string
	if j.Check == "" {
		errs = append(errs, "no check")
	}
	if _, ok := check.Lookup(j.Type); !ok {
		errs = append(errs, fmt.Sprintf("unknown check type %q", j.Type))
	}
	if j.Zone == "" || strings.ContainsAny(j.Zone, ".*> ") {
		errs = append(errs, fmt.Sprintf("bad zone %q", j.Zone))
	}
	if j.Interval <= 0 || j.Timeout < 0 {
		errs = append(errs, "bad interval or timeout")
	}
	if j.Due.IsZero() {
		errs = append(errs, "no due time")
	}
	if len(errs) > 0 {
		return fmt.Errorf("job %q: %s", j.Check, strings.Join(errs, "; "))
	}
	return nil
}

// IntervalDuration is the job's interval.
func (j Job) IntervalDuration() time.Duration {
	return time.Duration(j.Interval * float64(time.Second))
}

// TimeoutDuration is the job's timeout (0: the type's default).
func (j Job) TimeoutDuration() time.Duration { return time.Duration(j.Timeout * float64(time.Second)) }

// NewResult describes a check run of a job.
func NewResult(j Job, poller string, r check.Result, offline bool) Result {
	return Result{V: Version, Check: j.Check, Zone: j.Zone, Poller: poller, Time: r.Time.UTC(), Due: j.Due.UTC(),
		Status: int(r.Status), Output: r.Output, Long: r.Long, Perf: check.PerfString(r.Perf), Duration: r.Duration.Seconds(), Offline: offline}
}

func (r Result) validate() error {
	switch {
	case r.Check == "":
		return errors.New("result: no check")
	case r.Poller == "" || r.Zone == "":
		return fmt.Errorf("result of %q: no poller or zone", r.Check)
	case r.Time.IsZero():
		return fmt.Errorf("result of %q: no time", r.Check)
	case r.Status < int(check.OK) || r.Status > int(check.Unknown):
		return fmt.Errorf("result of %q: bad status %d", r.Check, r.Status)
	case r.Duration < 0:
		return fmt.Errorf("result of %q: negative duration", r.Check)
	}
	return nil
}

// CheckResult is the result as the engine records it.
func (r Result) CheckResult() check.Result {
	perf, _ := check.ParsePerf(r.Perf)
	return check.Result{Status: check.Status(r.Status), Output: r.Output, Long: r.Long, Perf: perf, Time: r.Time,
		Duration: time.Duration(r.Duration * float64(time.Second))}
}

// ResultBatch is what a poller publishes: the results of one record of its
// buffer, in the order they were taken, with the number of results its
// bounded buffer had to drop since the previous batch.
type ResultBatch struct {
	V       int      `json:"v"`
	Zone    string   `json:"zone"`
	Poller  string   `json:"poller"`
	Seq     uint64   `json:"seq"`
	Dropped uint64   `json:"dropped,omitempty"`
	Results []Result `json:"results"`
}

// EncodeBatch encodes a batch of results.
func EncodeBatch(b ResultBatch) ([]byte, error) {
	b.V = Version
	for i := range b.Results {
		r := &b.Results[i]
		r.V = Version
		if len(r.Output) > maxOutput {
			r.Output = r.Output[:maxOutput]
		}
		if len(r.Long) > maxOutput {
			r.Long = r.Long[:maxOutput]
		}
		if err := r.validate(); err != nil {
			return nil, err
		}
	}
	return json.Marshal(b)
}

// DecodeBatch decodes a batch; every result must be valid and of the
// batch's zone and poller.
func DecodeBatch(p []byte) (ResultBatch, error) {
	var b ResultBatch
	if len(p) > 16*maxMsg {
		return b, fmt.Errorf("batch of %d bytes: too large", len(p))
	}
	if err := json.Unmarshal(p, &b); err != nil {
		return b, fmt.Errorf("result batch: %w", err)
	}
	if b.V != Version {
		return b, fmt.Errorf("result batch: version %d, want %d", b.V, Version)
	}
	if b.Zone == "" || b.Poller == "" {
		return b, errors.New("result batch: no zone or poller")
	}
	for _, r := range b.Results {
		if err := r.validate(); err != nil {
			return b, err
		}
		if r.Zone != b.Zone || r.Poller != b.Poller {
			return b, fmt.Errorf("result batch of %s/%s holds a result of %s/%s", b.Zone, b.Poller, r.Zone, r.Poller)
		}
	}
	return b, nil
}
