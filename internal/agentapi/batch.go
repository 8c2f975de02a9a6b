package agentapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/wire"
)

// Per-item limits beyond those of package wire.
const (
	MaxPerfPerResult = 100 // perfdata items on one result
	MaxLabelLen      = 200 // bytes of a perfdata label or unit, a metric or label name
	MaxLabelValueLen = 1024
	MaxSampleLabels  = 32
)

// errTooLarge marks a body beyond its limit.
var errTooLarge = errors.New("too large")

// readBody reads a request body of at most limit bytes (after gzip
// decoding if Content-Encoding says so; the compressed body is bounded by
// limit too, so a gzip bomb stops at limit+1 decoded bytes). On failure it
// returns an HTTP status and a reason.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, int, string) {
	if r.ContentLength > limit {
		return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("body of %d bytes is over the limit of %d", r.ContentLength, limit)
	}
	var src io.Reader = http.MaxBytesReader(w, r.Body, limit)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(src)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("compressed body is over the limit of %d bytes", limit)
			}
			return nil, http.StatusBadRequest, "bad gzip body: " + err.Error()
		}
		defer zr.Close()
		src = zr
	default:
		return nil, http.StatusUnsupportedMediaType, "Content-Encoding " + strconv.Quote(enc) + " is not supported (gzip or none)"
	}
	b, err := readLimited(src, limit)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.Is(err, errTooLarge) || errors.As(err, &mbe) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is over the limit of %d bytes (decoded)", limit)
		}
		return nil, http.StatusBadRequest, "reading body: " + err.Error()
	}
	return b, 0, ""
}

// readLimited reads at most limit bytes; one more is errTooLarge.
func readLimited(src io.Reader, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(src, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, errTooLarge
	}
	return buf.Bytes(), nil
}

// DecodeBody decodes a possibly gzip-compressed body of at most limit
// decoded bytes (used by tests and fuzzing; the handler uses readBody).
func DecodeBody(body []byte, gzipped bool, limit int64) ([]byte, error) {
	if int64(len(body)) > limit {
		return nil, errTooLarge
	}
	if !gzipped {
		return body, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return readLimited(zr, limit)
}

func reasonFor(code int) string {
	switch code {
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnsupportedMediaType:
		return "encoding"
	}
	return "bad_body"
}

// decodeStrict decodes exactly one JSON value with no unknown fields.
func decodeStrict(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return errors.New("empty body")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// DecodeBatch decodes and bounds a batch body (already decompressed). The
// error says why it is refused; status is 400 or 413.
func DecodeBatch(b []byte) (wire.Batch, int, error) {
	if len(b) > wire.MaxBatchBytes {
		return wire.Batch{}, http.StatusRequestEntityTooLarge, fmt.Errorf("batch is over the limit of %d bytes", wire.MaxBatchBytes)
	}
	var raw rawBatch
	if err := decodeStrict(b, &raw); err != nil {
		return wire.Batch{}, http.StatusBadRequest, fmt.Errorf("malformed batch: %w", err)
	}
	bt := wire.Batch{Seq: raw.Seq, Sent: raw.Sent, Samples: raw.Samples, DroppedResults: raw.DroppedResults, DroppedSamples: raw.DroppedSamples}
	if len(raw.Results) > 0 {
		bt.Results = make([]wire.Result, len(raw.Results))
		for i := range raw.Results {
			bt.Results[i] = raw.Results[i].result()
		}
	}
	if len(bt.Results) > wire.MaxBatchResults {
		return wire.Batch{}, http.StatusRequestEntityTooLarge, fmt.Errorf("%d results in one batch (at most %d)", len(bt.Results), wire.MaxBatchResults)
	}
	if len(bt.Samples) > wire.MaxBatchSamples {
		return wire.Batch{}, http.StatusRequestEntityTooLarge, fmt.Errorf("%d samples in one batch (at most %d)", len(bt.Samples), wire.MaxBatchSamples)
	}
	if bt.Seq == 0 && (len(bt.Results) > 0 || len(bt.Samples) > 0) {
		return wire.Batch{}, http.StatusBadRequest, errors.New("seq must be at least 1 for a batch with results or samples")
	}
	if bt.Seq > wire.MaxSeq {
		return wire.Batch{}, http.StatusBadRequest, fmt.Errorf("seq %d is out of range (at most %d)", bt.Seq, uint64(wire.MaxSeq))
	}
	return bt, 0, nil
}

// rawBatch is wire.Batch with each result's status kept raw, so that one
// bad status refuses that result only, not the whole batch (which the
// agent could never get past).
type rawBatch struct {
	Seq            uint64        `json:"seq"`
	Sent           int64         `json:"sent"`
	Results        []rawResult   `json:"results,omitempty"`
	Samples        []wire.Sample `json:"samples,omitempty"`
	DroppedResults uint64        `json:"dropped_results,omitempty"`
	DroppedSamples uint64        `json:"dropped_samples,omitempty"`
}

type rawResult struct {
	Check    string          `json:"check"`
	Status   json.RawMessage `json:"status"`
	Output   string          `json:"output"`
	Long     string          `json:"long_output,omitempty"`
	Perf     []check.Metric  `json:"perfdata,omitempty"`
	Time     int64           `json:"time"`
	Duration float64         `json:"duration"`
}

// badStatus marks a status that is neither a name nor 0..3.
const badStatus = check.Status(-1)

// parseStatus reads a status name ("CRITICAL") or number (0..3).
func parseStatus(raw json.RawMessage) check.Status {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == 'n' {
		return badStatus
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return badStatus
		}
		st, err := check.ParseStatus(s)
		if err != nil {
			return badStatus
		}
		return st
	}
	var n float64
	if json.Unmarshal(raw, &n) != nil || n != math.Trunc(n) || n < 0 || n > 3 {
		return badStatus
	}
	return check.Status(n)
}

func (r *rawResult) result() wire.Result {
	return wire.Result{Check: r.Check, Status: parseStatus(r.Status), Output: r.Output, Long: r.Long, Perf: r.Perf, Time: r.Time, Duration: r.Duration}
}

// Window is the accepted time range of results and samples.
type Window struct {
	Oldest, Newest time.Time
}

// WindowAt is the window at now for a result retention.
func WindowAt(now time.Time, retention time.Duration) Window {
	if retention <= 0 {
		retention = config.DefaultResults
	}
	return Window{Oldest: now.Add(-retention), Newest: now.Add(wire.MaxFutureSkew)}
}

func (wd Window) check(ms int64) string {
	if ms <= 0 {
		return "time is missing"
	}
	t := time.UnixMilli(ms)
	switch {
	case t.After(wd.Newest):
		return fmt.Sprintf("time %s is more than %s in the future", t.UTC().Format(time.RFC3339), wire.MaxFutureSkew)
	case t.Before(wd.Oldest):
		return fmt.Sprintf("time %s is older than the result retention", t.UTC().Format(time.RFC3339))
	}
	return ""
}

// ValidateResult turns a wire result into a check result, or says why it
// is refused. own reports whether a short check name is one of this host's
// agent-side checks.
func ValidateResult(res *wire.Result, own func(short string) bool, wd Window) (check.Result, string) {
	if res.Check == "" {
		return check.Result{}, "result without a check name"
	}
	if !own(res.Check) {
		return check.Result{}, fmt.Sprintf("check %q is not an agent-side check of this host", cut(res.Check, 100))
	}
	if res.Status < check.OK || res.Status > check.Unknown {
		return check.Result{}, res.Check + ": status is not OK, WARNING, CRITICAL, UNKNOWN or 0..3"
	}
	if why := wd.check(res.Time); why != "" {
		return check.Result{}, res.Check + ": " + why
	}
	if math.IsNaN(res.Duration) || res.Duration < 0 || res.Duration > 86400 {
		return check.Result{}, fmt.Sprintf("%s: duration %v is not 0..86400 seconds", res.Check, res.Duration)
	}
	if len(res.Perf) > MaxPerfPerResult {
		return check.Result{}, fmt.Sprintf("%s: %d perfdata items (at most %d)", res.Check, len(res.Perf), MaxPerfPerResult)
	}
	for _, m := range res.Perf {
		if m.Label == "" || len(m.Label) > MaxLabelLen || !utf8.ValidString(m.Label) || len(m.Unit) > 16 {
			return check.Result{}, fmt.Sprintf("%s: bad perfdata label or unit %q", res.Check, cut(m.Label, 100))
		}
	}
	r := check.Result{
		Status:   res.Status,
		Output:   cut(oneLine(res.Output), wire.MaxOutputBytes),
		Long:     cut(res.Long, wire.MaxLongBytes),
		Perf:     res.Perf,
		Time:     time.UnixMilli(res.Time),
		Duration: time.Duration(res.Duration * float64(time.Second)),
	}
	return r, ""
}

// ValidateSample says why a sample is refused ("" if it is fine).
func ValidateSample(s *wire.Sample, wd Window) string {
	if !metricName(s.Name, true) {
		return fmt.Sprintf("sample %q: bad metric name", cut(s.Name, 100))
	}
	if ReservedMetric(s.Name) {
		return fmt.Sprintf("sample %s: names starting with %s are the server's own (check perfdata, state)", cut(s.Name, 100), ReservedPrefix)
	}
	if len(s.Labels) > MaxSampleLabels {
		return fmt.Sprintf("sample %s: %d labels (at most %d)", s.Name, len(s.Labels), MaxSampleLabels)
	}
	for k, v := range s.Labels {
		switch {
		case k == "host" || k == "tenant":
			return fmt.Sprintf("sample %s: label %q is set by the server", s.Name, k)
		case strings.HasPrefix(k, "__"):
			return fmt.Sprintf("sample %s: label %q is reserved", s.Name, cut(k, 100))
		case !metricName(k, false):
			return fmt.Sprintf("sample %s: bad label name %q", s.Name, cut(k, 100))
		case len(v) > MaxLabelValueLen || !utf8.ValidString(v):
			return fmt.Sprintf("sample %s: label %s: value too long or not UTF-8", s.Name, k)
		}
	}
	if why := wd.check(s.Time); why != "" {
		return "sample " + s.Name + ": " + why
	}
	return ""
}

// ReservedPrefix starts the names of the series the server writes itself
// (mamori_check_perf, ...): an agent may not write under them, or it could
// forge another check's perfdata.
const ReservedPrefix = "mamori_"

// ReservedMetric reports whether name is the server's own.
func ReservedMetric(name string) bool {
	return strings.HasPrefix(strings.ToLower(name), ReservedPrefix)
}

// metricName reports whether s is a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)
// or, with colon false, a label name.
func metricName(s string, colon bool) bool {
	if s == "" || len(s) > MaxLabelLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || (colon && c == ':') || (i > 0 && c >= '0' && c <= '9')
		if !ok {
			return false
		}
	}
	return true
}

func oneLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
}

// cut shortens s to at most n bytes without splitting a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

type reasons struct {
	list []string
	more int
}

func (rs *reasons) add(s string) {
	if len(rs.list) < maxReasons {
		rs.list = append(rs.list, s)
		return
	}
	rs.more++
}

func (rs *reasons) out() []string {
	if rs.more > 0 {
		return append(rs.list, fmt.Sprintf("... and %d more", rs.more))
	}
	return rs.list
}

// ownChecks returns the short names of a host's agent-side checks.
func ownChecks(cfg *config.Config, host string) map[string]bool {
	own := map[string]bool{}
	for _, c := range cfg.Checks {
		if c.Host == host && c.OnAgent && !c.Disabled {
			own[c.ShortName] = true
		}
	}
	return own
}

func (a *API) batch(w http.ResponseWriter, r *http.Request) {
	const route = "batch"
	host, ok := a.auth(w, r, route)
	if !ok {
		return
	}
	bt, ok := a.readBatch(w, r, route, host)
	if !ok {
		return
	}
	cfg := a.config()
	ack := wire.BatchAck{ConfigVersion: AgentConfig(cfg, host).ConfigVersion}

	// One batch of a host at a time: Seq is checked and stored in order.
	l := a.hostLock(host)
	l.Lock()
	defer l.Unlock()
	a.mu.Lock()
	stored := a.seq[host]
	a.mu.Unlock()
	if !a.seqInOrder(w, r, host, bt.Seq, stored, ack) {
		return
	}

	now := a.now()
	v := validateBatch(&bt, cfg, host, now)
	if !a.recordResults(w, r, route, host, &v) || !a.appendSamples(w, r, route, host, &v) {
		return
	}
	a.commitSeq(r, host, &bt, now)

	ack.Seq = bt.Seq
	ack.Rejected = v.rejectedResults + v.rejectedSamples
	ack.Reasons = v.rs.out()
	if ack.Rejected > 0 {
		a.m.rejected.WithLabelValues(route, "items").Inc()
		a.log.Warn("agentapi: batch items rejected", "host", host, "seq", bt.Seq, "rejected", ack.Rejected,
			"first", ack.Reasons[0])
	}
	writeJSON(w, http.StatusOK, ack)
}

// readBatch reads and decodes a batch body, answering the agent itself
// when it cannot.
func (a *API) readBatch(w http.ResponseWriter, r *http.Request, route, host string) (wire.Batch, bool) {
	body, code, msg := readBody(w, r, wire.MaxBatchBytes)
	if code != 0 {
		a.m.batches.WithLabelValues("rejected").Inc()
		a.noteRefused(host, msg)
		a.reject(w, r, route, host, code, reasonFor(code), msg)
		return wire.Batch{}, false
	}
	bt, code, err := DecodeBatch(body)
	if err != nil {
		a.m.batches.WithLabelValues("rejected").Inc()
		reason := "bad_json"
		if code == http.StatusRequestEntityTooLarge {
			reason = "too_many"
		}
		a.noteRefused(host, err.Error())
		a.reject(w, r, route, host, code, reason, err.Error())
		return wire.Batch{}, false
	}
	return bt, true
}

// validBatch is what of a batch passed validation, and why the rest did not.
type validBatch struct {
	results                          []check.Result
	names                            []string // full check names of results
	samples                          []wire.Sample
	rs                               reasons
	rejectedResults, rejectedSamples int
}

// validateBatch keeps the results of the host's own agent-side checks and
// the samples inside the accepted time window.
func validateBatch(bt *wire.Batch, cfg *config.Config, host string, now time.Time) validBatch {
	wd := WindowAt(now, cfg.Retention.Results)
	own := ownChecks(cfg, host)
	v := validBatch{results: make([]check.Result, 0, len(bt.Results)), names: make([]string, 0, len(bt.Results))}
	for i := range bt.Results {
		res, why := ValidateResult(&bt.Results[i], func(s string) bool { return own[s] }, wd)
		if why != "" {
			v.rs.add(why)
			continue
		}
		v.results = append(v.results, res)
		v.names = append(v.names, host+"/"+bt.Results[i].Check)
	}
	v.samples = bt.Samples[:0:0]
	for i := range bt.Samples {
		if why := ValidateSample(&bt.Samples[i], wd); why != "" {
			v.rs.add(why)
			continue
		}
		v.samples = append(v.samples, bt.Samples[i])
	}
	v.rejectedResults = len(bt.Results) - len(v.results)
	v.rejectedSamples = len(bt.Samples) - len(v.samples)
	return v
}

// recordResults hands the results to the engine in order; on a failure it
// answers 503 (the agent sends the batch again) and reports false.
func (a *API) recordResults(w http.ResponseWriter, r *http.Request, route, host string, v *validBatch) bool {
	for i, res := range v.results {
		if _, err := a.results.Record(r.Context(), v.names[i], res); err != nil {
			if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
				return false // the agent went away; it sends the batch again
			}
			a.m.batches.WithLabelValues("failed").Inc()
			a.noteRefused(host, "could not store a result: "+err.Error())
			a.reject(w, r, route, host, http.StatusServiceUnavailable, "store", "could not store result "+strconv.Itoa(i)+": "+err.Error()+"; send the batch again")
			return false
		}
	}
	a.m.results.WithLabelValues("stored").Add(float64(len(v.results)))
	a.m.results.WithLabelValues("rejected").Add(float64(v.rejectedResults))
	return true
}

// appendSamples stores the samples in the time-series sink (or counts them
// discarded without one); on a failure it answers 503 and reports false.
func (a *API) appendSamples(w http.ResponseWriter, r *http.Request, route, host string, v *validBatch) bool {
	if len(v.samples) > 0 {
		if a.sink == nil {
			a.noSinkOnce.Do(func() { a.log.Warn("agentapi: no time-series store: agent samples are discarded (counted)") })
			a.m.samples.WithLabelValues("discarded").Add(float64(len(v.samples)))
		} else {
			accepted, err := a.sink.Append(host, v.samples)
			var partial interface{ Total() int }
			switch {
			case err == nil:
			case errors.As(err, &partial):
				v.rejectedSamples += partial.Total()
				v.rs.add(err.Error())
			default:
				a.m.batches.WithLabelValues("failed").Inc()
				a.noteRefused(host, "could not store samples: "+err.Error())
				a.reject(w, r, route, host, http.StatusServiceUnavailable, "store", "could not store samples: "+err.Error()+"; send the batch again")
				return false
			}
			a.m.samples.WithLabelValues("stored").Add(float64(accepted))
		}
	}
	a.m.samples.WithLabelValues("rejected").Add(float64(v.rejectedSamples))
	return true
}

// commitSeq records what the agent dropped and the batch's Seq, persisted
// and in memory.
func (a *API) commitSeq(r *http.Request, host string, bt *wire.Batch, now time.Time) {
	if bt.DroppedResults > 0 || bt.DroppedSamples > 0 {
		a.m.droppedResults.WithLabelValues(host).Add(float64(bt.DroppedResults))
		a.m.droppedSamples.WithLabelValues(host).Add(float64(bt.DroppedSamples))
		a.log.Warn("agent dropped data (its spool was full)", "host", host, "seq", bt.Seq,
			"dropped_results", bt.DroppedResults, "dropped_samples", bt.DroppedSamples)
	}
	if err := a.hosts.StoreAgentBatch(context.WithoutCancel(r.Context()), host, bt.Seq, bt.DroppedResults, bt.DroppedSamples, now); err != nil {
		// The items are stored; only the persisted Seq is behind. Refusing
		// would make the agent send them again: acknowledge (the Seq is
		// kept in memory) and say so.
		a.log.Error("agentapi: record batch seq", "host", host, "seq", bt.Seq, "err", err)
	}
	a.mu.Lock()
	if bt.Seq > a.seq[host] {
		a.seq[host] = bt.Seq
	}
	a.mu.Unlock()
	a.m.batches.WithLabelValues("stored").Inc()
	a.noteStored(host)
}

// seqInOrder decides what a batch's Seq means against the stored one. It
// answers the batch itself (false) when it is not to be stored: a
// heartbeat without content or a replay is acknowledged with the stored
// Seq; a Seq too far ahead is refused (409: the agent says hello and the
// server re-synchronises, see resync).
func (a *API) seqInOrder(w http.ResponseWriter, r *http.Request, host string, seq, stored uint64, ack wire.BatchAck) bool {
	switch {
	case seq == 0:
		a.m.batches.WithLabelValues("empty").Inc()
		a.noteStored(host)
	case seq <= stored:
		a.m.batches.WithLabelValues("replayed").Inc()
		a.noteRefused(host, fmt.Sprintf("batch seq %d is already stored (the server has %d): if the agent's state was reset it re-synchronises at its next hello", seq, stored))
		a.log.Debug("agentapi: replayed batch acknowledged", "host", host, "seq", seq, "stored", stored)
	case seq-stored > wire.MaxSeqAhead:
		a.m.batches.WithLabelValues("rejected").Inc()
		msg := fmt.Sprintf("batch seq %d is more than %d ahead of the last stored (%d): say hello to re-synchronise", seq, wire.MaxSeqAhead, stored)
		a.noteRefused(host, msg)
		a.reject(w, r, "batch", host, http.StatusConflict, "seq_ahead", msg)
		return false
	default:
		return true
	}
	ack.Seq = stored
	writeJSON(w, http.StatusOK, ack)
	return false
}
