package agentapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/pushcheck"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/wire"
)

// MaxJobDuration bounds a reported job duration.
const MaxJobDuration = 31 * 24 * time.Hour

type pushIndex struct {
	cfg     *config.Config
	sums    [][32]byte
	names   []string
	missing string // why derived tokens are unavailable ("" if they are)
}

// LoadSecret reads DATA_DIR/secret.key, creating it (32 random bytes, mode
// 0600) if missing — the same file and rules as internal/alerting.
func LoadSecret(dataDir string) ([]byte, error) { return auth.LoadOrCreateKey(dataDir) }

func (a *API) serverSecret(cfg *config.Config) ([]byte, error) {
	a.secretMu.Lock()
	defer a.secretMu.Unlock()
	if a.secret == nil {
		s, err := LoadSecret(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		a.secret = s
	}
	return a.secret, nil
}

// PushTokenOf is the push token of a push check: its own token, or the one
// derived from the server secret.
func PushTokenOf(c *config.Check, secret []byte) string {
	if sp, ok := c.Spec.(*pushcheck.Spec); ok && !sp.Token.IsZero() {
		return sp.Token.Reveal()
	}
	return pushcheck.PushToken(secret, c.Name)
}

func (a *API) pushIndex(cfg *config.Config) *pushIndex {
	if idx := a.pushIdx.Load(); idx != nil && idx.cfg == cfg {
		return idx
	}
	idx := &pushIndex{cfg: cfg}
	var secret []byte
	for _, c := range cfg.Checks {
		if c.Type != "push" {
			continue
		}
		sp, ok := c.Spec.(*pushcheck.Spec)
		if !ok {
			continue
		}
		tok := sp.Token.Reveal()
		if tok == "" {
			if secret == nil && idx.missing == "" {
				s, err := a.serverSecret(cfg)
				if err != nil {
					idx.missing = err.Error()
					a.log.Error("agentapi: server secret for push tokens", "err", err)
				}
				secret = s
			}
			if secret == nil {
				continue
			}
			tok = pushcheck.PushToken(secret, c.Name)
		}
		idx.sums = append(idx.sums, sha256.Sum256([]byte(tok)))
		idx.names = append(idx.names, c.Name)
	}
	a.pushIdx.Store(idx)
	return idx
}

// PushReport is a job's report as decoded from JSON or form values.
type PushReport struct {
	Status   check.Status
	Output   string
	Long     string
	Duration *float64 // seconds
	ExitCode *int64
}

type pushJSON struct {
	Status   json.RawMessage `json:"status"`
	Output   *string         `json:"output"`
	Message  *string         `json:"message"`
	Long     string          `json:"long_output"`
	Duration *float64        `json:"duration"`
	ExitCode *int64          `json:"exit_code"`
}

// ParsePushReport decodes a push body: JSON (application/json or a body
// starting with "{"), form values (application/x-www-form-urlencoded,
// merged with the query string), or an empty body (query values, else OK).
func ParsePushReport(contentType string, body []byte, query url.Values) (PushReport, error) {
	var j pushJSON
	trimmed := bytes.TrimSpace(body)
	mt := ""
	if contentType != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(contentType); err != nil {
			return PushReport{}, fmt.Errorf("bad Content-Type: %v", err)
		}
	}
	switch {
	case len(trimmed) == 0 || mt == "application/x-www-form-urlencoded":
		vals := url.Values{}
		for k, v := range query {
			vals[k] = v
		}
		if len(trimmed) > 0 {
			form, err := url.ParseQuery(string(trimmed))
			if err != nil {
				return PushReport{}, fmt.Errorf("malformed form body: %v", err)
			}
			for k, v := range form {
				vals[k] = append(vals[k], v...)
			}
		}
		for k, v := range vals {
			if len(v) != 1 {
				return PushReport{}, fmt.Errorf("%s given %d times", k, len(v))
			}
			val := v[0]
			switch k {
			case "status":
				j.Status, _ = json.Marshal(val)
			case "output":
				j.Output = &val
			case "message", "msg":
				j.Message = &val
			case "long_output":
				j.Long = val
			case "duration":
				f, err := strconv.ParseFloat(val, 64)
				if err != nil {
					return PushReport{}, fmt.Errorf("duration %q is not a number of seconds", val)
				}
				j.Duration = &f
			case "exit_code":
				n, err := strconv.ParseInt(val, 10, 64)
				if err != nil {
					return PushReport{}, fmt.Errorf("exit_code %q is not an integer", val)
				}
				j.ExitCode = &n
			default:
				return PushReport{}, fmt.Errorf("unknown field %q (status, output, long_output, duration, exit_code)", k)
			}
		}
	case mt == "application/json" || mt == "" && trimmed[0] == '{' || strings.HasSuffix(mt, "+json"):
		if err := decodeStrict(trimmed, &j); err != nil {
			return PushReport{}, fmt.Errorf("malformed JSON: %v", err)
		}
	default:
		return PushReport{}, fmt.Errorf("Content-Type %q is not supported (application/json, application/x-www-form-urlencoded, or an empty body)", mt)
	}
	return j.report()
}

func (j *pushJSON) report() (PushReport, error) {
	var p PushReport
	if j.Output != nil && j.Message != nil {
		return p, errors.New("give output or message, not both")
	}
	if j.Output != nil {
		p.Output = *j.Output
	} else if j.Message != nil {
		p.Output = *j.Message
	}
	if !utfOK(p.Output) || !utfOK(j.Long) {
		return p, errors.New("output is not valid UTF-8")
	}
	p.Output = cut(oneLine(p.Output), wire.MaxOutputBytes)
	p.Long = cut(j.Long, wire.MaxLongBytes)
	if j.Duration != nil {
		d := *j.Duration
		if math.IsNaN(d) || math.IsInf(d, 0) || d < 0 || d > MaxJobDuration.Seconds() {
			return p, fmt.Errorf("duration %v is not 0..%d seconds", d, int64(MaxJobDuration.Seconds()))
		}
		p.Duration = &d
	}
	if j.ExitCode != nil {
		if *j.ExitCode < math.MinInt32 || *j.ExitCode > math.MaxUint32 {
			return p, fmt.Errorf("exit_code %d is out of range", *j.ExitCode)
		}
		p.ExitCode = j.ExitCode
	}
	switch st := bytes.TrimSpace(j.Status); {
	case len(st) == 0 || string(st) == "null":
		p.Status = check.OK
		if p.ExitCode != nil && *p.ExitCode != 0 {
			p.Status = check.Critical
		}
	case st[0] == '"':
		var s string
		if err := json.Unmarshal(st, &s); err != nil {
			return p, fmt.Errorf("status: %v", err)
		}
		v, err := check.ParseStatus(s)
		if err != nil {
			return p, fmt.Errorf("status: %v", err)
		}
		p.Status = v
	default:
		var n float64
		if err := json.Unmarshal(st, &n); err != nil || n != math.Trunc(n) || n < 0 || n > 3 {
			return p, fmt.Errorf("status %s is not OK, WARNING, CRITICAL, UNKNOWN or 0..3", cut(string(st), 40))
		}
		p.Status = check.Status(n)
	}
	return p, nil
}

func utfOK(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// Result turns a report into the check result recorded at now.
func (p PushReport) Result(now time.Time) check.Result {
	out := p.Output
	if out == "" {
		if p.ExitCode != nil {
			out = "exit code " + strconv.FormatInt(*p.ExitCode, 10)
		} else {
			out = "job reported " + p.Status.String()
		}
	}
	r := check.Result{Status: p.Status, Output: pushcheck.Label + " " + p.Status.String() + " - " + out, Long: p.Long, Time: now}
	if p.Duration != nil {
		r.Duration = time.Duration(*p.Duration * float64(time.Second))
		r.Perf = append(r.Perf, check.Seconds("duration", r.Duration, 0, 0))
	}
	if p.ExitCode != nil {
		r.Perf = append(r.Perf, check.M("exit_code", float64(*p.ExitCode), ""))
	}
	return r
}

type pushAck struct {
	Check  string `json:"check"`
	Status string `json:"status"`
	Output string `json:"output"`
}

func (a *API) push(w http.ResponseWriter, r *http.Request) {
	const route = "push"
	cfg := a.config()
	if cfg == nil {
		a.reject(w, r, route, "", http.StatusServiceUnavailable, "starting", "the server is starting; try again")
		return
	}
	tok := r.PathValue("token")
	idx := a.pushIndex(cfg)
	sum := sha256.Sum256([]byte(tok))
	name := ""
	for i := range idx.sums { // no early exit
		if subtle.ConstantTimeCompare(sum[:], idx.sums[i][:]) == 1 {
			name = idx.names[i]
		}
	}
	if name == "" {
		a.m.pushes.WithLabelValues("unknown_token").Inc()
		a.reject(w, r, route, "", http.StatusNotFound, "unknown_token", "unknown push token")
		return
	}
	c := cfg.Check(name)
	if c == nil || c.Disabled {
		a.m.pushes.WithLabelValues("rejected").Inc()
		a.reject(w, r, route, "", http.StatusConflict, "disabled", "check "+strconv.Quote(name)+" is disabled")
		return
	}
	if a.zoneRefused(w, r, route, c.Host, "check "+strconv.Quote(name)+" (host "+strconv.Quote(c.Host)+")") {
		a.m.pushes.WithLabelValues("rejected").Inc()
		return
	}
	body, code, msg := readBody(w, r, maxSmallBody)
	if code != 0 {
		a.m.pushes.WithLabelValues("rejected").Inc()
		a.reject(w, r, route, "", code, reasonFor(code), "check "+name+": "+msg)
		return
	}
	rep, err := ParsePushReport(r.Header.Get("Content-Type"), body, r.URL.Query())
	if err != nil {
		a.m.pushes.WithLabelValues("rejected").Inc()
		a.reject(w, r, route, "", http.StatusBadRequest, "invalid", "check "+name+": "+err.Error())
		return
	}
	now := a.now()
	res := rep.Result(now)
	ctx := context.WithoutCancel(r.Context())
	if err := a.hosts.SavePush(ctx, name, res, now); err != nil {
		a.m.pushes.WithLabelValues("failed").Inc()
		a.reject(w, r, route, "", http.StatusServiceUnavailable, "store", "could not store the report: "+err.Error())
		return
	}
	a.rec.pushed(name, res, now)
	if _, err := a.results.Record(ctx, name, res); err != nil {
		a.m.pushes.WithLabelValues("failed").Inc()
		a.reject(w, r, route, "", http.StatusServiceUnavailable, "store", "could not record the result: "+err.Error())
		return
	}
	a.m.pushes.WithLabelValues("accepted").Inc()
	a.log.Debug("job report", "check", name, "status", res.Status, "output", res.Output)
	writeJSON(w, http.StatusAccepted, pushAck{Check: name, Status: res.Status.String(), Output: res.Output})
}
