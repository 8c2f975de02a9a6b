// Package wire holds the versioned JSON messages between `mamori agent` and
// the server. No behaviour: both sides import it. All requests carry the
// host's token (Authorization: Bearer TOKEN); the token names the host.
//
// Routes (server side), all under /api/v1/agent/:
//
//	POST hello    Hello → AgentConfig      at start and whenever the server says config changed
//	POST batch    Batch → BatchAck         results and metrics, in order; gzip allowed (Content-Encoding)
//	GET  poll     → Request (200) or 204   long poll (?wait=30s) for server→agent requests
//	POST respond  Response → 204           the outcome of a Request
//
// Version: a server answers 426 Upgrade Required to an agent whose Version
// it does not speak.
package wire

import (
	"encoding/json"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// Version of this protocol.
const Version = 1

// Limits the server enforces (413 beyond them).
const (
	MaxBatchBytes   = 8 << 20 // decoded body
	MaxBatchResults = 10000
	MaxBatchSamples = 200000
	MaxOutputBytes  = 4096  // a result's output; longer is cut
	MaxLongBytes    = 16384 // a result's long output
	MaxFutureSkew   = 5 * time.Minute
	// MaxSeq is the largest batch Seq (exact in every JSON reader).
	MaxSeq = 1<<53 - 1
	// MaxSeqAhead bounds how far a batch's Seq may be ahead of the last
	// one stored for its host (an agent skips Seqs only for the batches its
	// full spool dropped).
	MaxSeqAhead = 1 << 24
)

// Hello introduces an agent.
type Hello struct {
	Version  int      `json:"version"`
	Agent    string   `json:"agent"` // agent build, e.g. "mamori dev+abc"
	Hostname string   `json:"hostname"`
	OS       string   `json:"os"`
	Arch     string   `json:"arch"`
	Actions  []string `json:"actions"` // names in the host's local allowlist (never the argv)
	BootTime int64    `json:"boot_time,omitempty"`
	// Spool is the agent's batch numbering. A server whose stored Seq is
	// ahead of anything this agent numbered (its state was reset, or a
	// batch was forged with its token) re-synchronises to Spool.Acked.
	Spool *SpoolState `json:"spool,omitempty"`
}

// SpoolState is where an agent's batch numbering stands.
type SpoolState struct {
	Acked uint64 `json:"acked"` // highest Seq the server acknowledged
	Last  uint64 `json:"last"`  // highest Seq handed out
}

// AgentConfig is what the server wants the agent to do. Checks are the
// agent-scope checks of the host in the server's config.
type AgentConfig struct {
	Host            string      `json:"host"`
	ConfigVersion   string      `json:"config_version"` // changes when Checks change
	MetricsInterval Duration    `json:"metrics_interval"`
	Heartbeat       Duration    `json:"heartbeat"` // send a batch at least this often
	Checks          []CheckSpec `json:"checks"`
}

// CheckSpec is one agent-side check. YAML is the check entry's own fields
// (the type's spec), decoded by the agent with the same strict decoder as
// the server's config.
type CheckSpec struct {
	Name     string   `json:"name"` // short name under the host
	Type     string   `json:"type"`
	Interval Duration `json:"interval"`
	Retry    Duration `json:"retry_interval"`
	Timeout  Duration `json:"timeout"`
	YAML     string   `json:"yaml"`
}

// Batch carries results and metrics. Seq increases by one per batch from
// the agent's spool; the server acknowledges the highest Seq it stored, and
// ignores a batch whose Seq it has already stored (at-least-once, no
// duplicates).
type Batch struct {
	Seq     uint64   `json:"seq"`
	Sent    int64    `json:"sent"` // unix ms when sent (clock skew diagnosis)
	Results []Result `json:"results,omitempty"`
	Samples []Sample `json:"samples,omitempty"`
	// Dropped counts results and samples the agent discarded because its
	// spool was full since the last batch: never silent.
	DroppedResults uint64 `json:"dropped_results,omitempty"`
	DroppedSamples uint64 `json:"dropped_samples,omitempty"`
}

// BatchAck answers a Batch.
type BatchAck struct {
	Seq           uint64   `json:"seq"`            // highest Seq stored
	ConfigVersion string   `json:"config_version"` // if different from the agent's, it says hello again
	Rejected      int      `json:"rejected,omitempty"`
	Reasons       []string `json:"reasons,omitempty"` // why items were rejected (unknown check, bad time)
}

// Result is one local check result.
type Result struct {
	Check    string         `json:"check"` // short name as in CheckSpec
	Status   check.Status   `json:"status"`
	Output   string         `json:"output"`
	Long     string         `json:"long_output,omitempty"`
	Perf     []check.Metric `json:"perfdata,omitempty"`
	Time     int64          `json:"time"` // unix ms when the run started
	Duration float64        `json:"duration"`
}

// Sample is one metric value. Name follows Prometheus conventions
// (node_load1, node_filesystem_avail_bytes, ...); the server adds the label
// host=<the host's name> and refuses a client-sent "host" label.
type Sample struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	Time   int64             `json:"t"` // unix ms
	Value  float64           `json:"v"`
}

// Request is a server→agent request.
type Request struct {
	ID      string   `json:"id"`
	Kind    string   `json:"kind"` // "action", "recheck", "config"
	Action  string   `json:"action,omitempty"`
	Check   string   `json:"check,omitempty"`
	Timeout Duration `json:"timeout,omitempty"`
	DryRun  bool     `json:"dry_run,omitempty"`
}

// Response is the agent's answer to a Request.
type Response struct {
	ID       string  `json:"id"`
	ExitCode int     `json:"exit_code"`
	Output   string  `json:"output"` // tail, bounded
	Error    string  `json:"error,omitempty"`
	Refused  bool    `json:"refused,omitempty"` // not in the local allowlist
	Duration float64 `json:"duration"`
}

// Duration is a time.Duration that reads and writes as text ("1m30s").
type Duration time.Duration

// MarshalJSON writes "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "1m30s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		*d = Duration(v)
		return err
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*d = Duration(f * float64(time.Second))
	return nil
}
