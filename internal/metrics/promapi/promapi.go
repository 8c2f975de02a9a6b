// Package promapi serves the read side of Prometheus' HTTP API over a
// metrics.Store, so that Grafana (or promtool, or anything that speaks to
// Prometheus) can use mamori as a Prometheus data source:
//
//	GET|POST /api/v1/query              instant query (query, time, timeout)
//	GET|POST /api/v1/query_range        range query (query, start, end, step, timeout)
//	GET|POST /api/v1/labels             label names (match[], start, end, limit)
//	GET      /api/v1/label/{name}/values label values (match[], start, end, limit)
//	GET|POST /api/v1/series             series (match[] required, start, end, limit)
//	GET      /api/v1/status/buildinfo   version, revision, branch, build date, Go version
//	GET      /api/v1/metadata           type, help and unit of the stored metrics (limit, limit_per_metric, metric)
//
// Responses use Prometheus' envelope: {"status":"success","data":…} or
// {"status":"error","errorType":"bad_data","error":"…"}, with its status
// codes (400 bad_data, 422 execution, 503 timeout, 499 canceled, 500
// internal). Authentication is the caller's: Routes is given a function
// that returns the requesting principal's tenant ("" = every tenant).
package promapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/klauspost/compress/gzhttp"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/mamori/mamori/internal/buildinfo"
	"github.com/mamori/mamori/internal/metrics"
)

// MaxPoints is the most points per series a range query may ask for
// ((end-start)/step), as in Prometheus.
const MaxPoints = 11000

// Principal returns the tenant a request may read ("" = all), or ok=false
// when the caller may not read metrics at all (403).
type Principal func(*http.Request) (tenant string, ok bool)

// Routes registers the handlers on mux.
func Routes(mux *http.ServeMux, st *metrics.Store, principal Principal) {
	h := &handler{st: st, principal: principal, now: time.Now}
	for _, m := range []string{"GET", "POST"} {
		mux.HandleFunc(m+" /api/v1/query", h.wrap(h.query))
		mux.HandleFunc(m+" /api/v1/query_range", h.wrap(h.queryRange))
		mux.HandleFunc(m+" /api/v1/labels", h.wrap(h.labels))
		mux.HandleFunc(m+" /api/v1/series", h.wrap(h.series))
	}
	mux.HandleFunc("GET /api/v1/label/{name}/values", h.wrap(h.labelValues))
	mux.HandleFunc("GET /api/v1/status/buildinfo", h.wrap(func(*http.Request, string) (any, []string, *apiError) {
		return map[string]string{"version": buildinfo.Short(), "revision": buildinfo.Revision, "branch": buildinfo.Branch,
			"buildUser": "", "buildDate": buildinfo.Date, "goVersion": runtime.Version()}, nil, nil
	}))
	mux.HandleFunc("GET /api/v1/metadata", h.wrap(h.metadata))
}

type handler struct {
	st        *metrics.Store
	principal Principal
	now       func() time.Time
}

// Error types of Prometheus' API.
const (
	errBadData   = "bad_data"
	errExec      = "execution"
	errTimeout   = "timeout"
	errCanceled  = "canceled"
	errInternal  = "internal"
	errForbidden = "forbidden"
)

type apiError struct {
	typ string
	err error
}

func statusOf(typ string) int {
	switch typ {
	case errBadData:
		return http.StatusBadRequest
	case errExec:
		return http.StatusUnprocessableEntity
	case errCanceled:
		return 499 // client closed request, as Prometheus
	case errTimeout:
		return http.StatusServiceUnavailable
	case errForbidden:
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

type response struct {
	Status    string   `json:"status"`
	Data      any      `json:"data,omitempty"`
	ErrorType string   `json:"errorType,omitempty"`
	Error     string   `json:"error,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
}

// wrap answers with Prometheus' envelope, gzip-compressed when the client
// accepts it (as Prometheus does; Grafana asks for it).
func (h *handler) wrap(f func(r *http.Request, tenant string) (any, []string, *apiError)) http.HandlerFunc {
	return gzhttp.GzipHandler(h.envelope(f)).ServeHTTP
}

func (h *handler) envelope(f func(r *http.Request, tenant string) (any, []string, *apiError)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tenant, ok := h.principal(r)
		if !ok {
			writeResp(w, http.StatusForbidden, response{Status: "error", ErrorType: errForbidden, Error: "this caller may not read metrics"})
			return
		}
		if err := r.ParseForm(); err != nil {
			writeResp(w, http.StatusBadRequest, response{Status: "error", ErrorType: errBadData, Error: "invalid form: " + err.Error()})
			return
		}
		data, warns, aerr := f(r, tenant)
		if aerr != nil {
			writeResp(w, statusOf(aerr.typ), response{Status: "error", ErrorType: aerr.typ, Error: aerr.err.Error(), Warnings: warns})
			return
		}
		writeResp(w, http.StatusOK, response{Status: "success", Data: data, Warnings: warns})
	}
}

func writeResp(w http.ResponseWriter, code int, v response) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b, _ = json.Marshal(response{Status: "error", ErrorType: errInternal, Error: "encoding the response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func badParam(name string, err error) *apiError {
	return &apiError{errBadData, fmt.Errorf("invalid parameter %q: %w", name, err)}
}

// queryData is the data of /query and /query_range.
type queryData struct {
	ResultType parser.ValueType `json:"resultType"`
	Result     any              `json:"result"`
}

func (h *handler) query(r *http.Request, tenant string) (any, []string, *apiError) {
	t := h.now()
	if v := r.FormValue("time"); v != "" {
		var err error
		if t, err = ParseTime(v); err != nil {
			return nil, nil, badParam("time", err)
		}
	}
	ctx, cancel, aerr := timeoutCtx(r)
	if aerr != nil {
		return nil, nil, aerr
	}
	defer cancel()
	res, err := h.st.Query(ctx, r.FormValue("query"), t, tenant)
	return result(res, err)
}

func (h *handler) queryRange(r *http.Request, tenant string) (any, []string, *apiError) {
	start, err := ParseTime(r.FormValue("start"))
	if err != nil {
		return nil, nil, badParam("start", err)
	}
	end, err := ParseTime(r.FormValue("end"))
	if err != nil {
		return nil, nil, badParam("end", err)
	}
	if end.Before(start) {
		return nil, nil, badParam("end", errors.New("end timestamp must not be before start time"))
	}
	step, err := parsePromDuration(r.FormValue("step"))
	if err != nil {
		return nil, nil, badParam("step", err)
	}
	if step <= 0 {
		return nil, nil, badParam("step", errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"))
	}
	if end.Sub(start)/step > MaxPoints {
		return nil, nil, &apiError{errBadData, errors.New("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")}
	}
	ctx, cancel, aerr := timeoutCtx(r)
	if aerr != nil {
		return nil, nil, aerr
	}
	defer cancel()
	res, err := h.st.QueryRange(ctx, r.FormValue("query"), start, end, step, tenant)
	return result(res, err)
}

func timeoutCtx(r *http.Request) (context.Context, context.CancelFunc, *apiError) {
	v := r.FormValue("timeout")
	if v == "" {
		ctx, cancel := context.WithCancel(r.Context())
		return ctx, cancel, nil
	}
	d, err := parsePromDuration(v)
	if err != nil || d <= 0 {
		if err == nil {
			err = errors.New("timeout must be positive")
		}
		return nil, nil, badParam("timeout", err)
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	return ctx, cancel, nil
}

func result(res *metrics.Result, err error) (any, []string, *apiError) {
	if err != nil {
		return nil, nil, queryError(err)
	}
	v := res.Value
	switch m := v.(type) { // never "result": null
	case promql.Matrix:
		if m == nil {
			v = promql.Matrix{}
		}
	case promql.Vector:
		if m == nil {
			v = promql.Vector{}
		}
	}
	return queryData{ResultType: res.Value.Type(), Result: v}, res.Warnings, nil
}

// queryError maps an error as Prometheus' API does.
func queryError(err error) *apiError {
	var bq *metrics.BadQueryError
	var eqc promql.ErrQueryCanceled
	var eqt promql.ErrQueryTimeout
	var es promql.ErrStorage
	switch {
	case errors.As(err, &bq):
		return badParam("query", bq.Err)
	case errors.As(err, &eqc):
		return &apiError{errCanceled, err}
	case errors.As(err, &eqt), errors.Is(err, context.DeadlineExceeded):
		return &apiError{errTimeout, err}
	case errors.As(err, &es):
		return &apiError{errInternal, err}
	case errors.Is(err, context.Canceled):
		return &apiError{errCanceled, err}
	}
	return &apiError{errExec, err}
}

// selectors reads match[], start, end and limit.
func (h *handler) selectors(r *http.Request) (sets [][]*labels.Matcher, start, end time.Time, limit int, aerr *apiError) {
	var err error
	if v := r.FormValue("start"); v != "" {
		if start, err = ParseTime(v); err != nil {
			return nil, start, end, 0, badParam("start", err)
		}
	}
	if v := r.FormValue("end"); v != "" {
		if end, err = ParseTime(v); err != nil {
			return nil, start, end, 0, badParam("end", err)
		}
	}
	if v := r.FormValue("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 0 {
			return nil, start, end, 0, badParam("limit", errors.New("must be a non-negative integer"))
		}
	}
	if ms := r.Form["match[]"]; len(ms) > 0 {
		if sets, err = h.st.ParseMatchers(ms); err != nil {
			return nil, start, end, 0, badParam("match[]", errors.Unwrap(err))
		}
	}
	return sets, start, end, limit, nil
}

func truncate(vs []string, limit int) ([]string, []string) {
	if limit > 0 && len(vs) > limit {
		return vs[:limit], []string{"results truncated due to limit"}
	}
	return vs, nil
}

func (h *handler) labels(r *http.Request, tenant string) (any, []string, *apiError) {
	sets, start, end, limit, aerr := h.selectors(r)
	if aerr != nil {
		return nil, nil, aerr
	}
	names, err := h.st.LabelNames(r.Context(), start, end, sets, tenant)
	if err != nil {
		return nil, nil, queryError(err)
	}
	names, warns := truncate(names, limit)
	return names, warns, nil
}

func (h *handler) labelValues(r *http.Request, tenant string) (any, []string, *apiError) {
	name := r.PathValue("name")
	if !metrics.ValidLabelName(name) {
		return nil, nil, &apiError{errBadData, fmt.Errorf("invalid label name: %q", name)}
	}
	sets, start, end, limit, aerr := h.selectors(r)
	if aerr != nil {
		return nil, nil, aerr
	}
	vals, err := h.st.LabelValues(r.Context(), name, start, end, sets, tenant)
	if err != nil {
		return nil, nil, queryError(err)
	}
	vals, warns := truncate(vals, limit)
	return vals, warns, nil
}

func (h *handler) series(r *http.Request, tenant string) (any, []string, *apiError) {
	sets, start, end, limit, aerr := h.selectors(r)
	if aerr != nil {
		return nil, nil, aerr
	}
	if len(sets) == 0 {
		return nil, nil, &apiError{errBadData, errors.New("no match[] parameter provided")}
	}
	ls, err := h.st.Series(r.Context(), start, end, sets, tenant, limit)
	if err != nil {
		return nil, nil, queryError(err)
	}
	var warns []string
	if limit > 0 && len(ls) > limit {
		ls, warns = ls[:limit], []string{"results truncated due to limit"}
	}
	out := make([]map[string]string, len(ls))
	for i, l := range ls {
		out[i] = l.Map()
	}
	return out, warns, nil
}

// ParseTime reads a time as Prometheus' API does: Unix seconds, with an
// optional fraction (1700000000.5), or RFC 3339 (2026-11-01T03:00:00Z).
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("missing time")
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e13 {
			return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
		}
		sec, frac := math.Modf(f)
		frac = math.Round(frac*1000) / 1000
		return time.Unix(int64(sec), int64(frac*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// parsePromDuration reads a duration as Prometheus' HTTP API does: seconds,
// with an optional fraction (15, 0.5), or a Prometheus duration (30s, 5m,
// 1h30m, 1d, 1y). This is Prometheus' wire grammar, kept exact for its
// clients (Grafana); mamori's own settings use package duration.
func parsePromDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("missing duration")
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		ns := f * float64(time.Second)
		if math.IsNaN(ns) || ns > math.MaxInt64 || ns < math.MinInt64 {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(ns), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

// metadata answers as Prometheus does: for each metric name stored (and
// visible to the caller) that mamori knows, a list of one {type, help,
// unit}. metric= asks for one name; limit bounds the number of metrics.
func (h *handler) metadata(r *http.Request, tenant string) (any, []string, *apiError) {
	limit, err := optInt(r.Form.Get("limit"))
	if err != nil {
		return nil, nil, &apiError{errBadData, fmt.Errorf("invalid limit: %w", err)}
	}
	if _, err := optInt(r.Form.Get("limit_per_metric")); err != nil {
		return nil, nil, &apiError{errBadData, fmt.Errorf("invalid limit_per_metric: %w", err)}
	}
	names, err := h.st.LabelValues(r.Context(), labels.MetricName, time.Time{}, time.Time{}, nil, tenant)
	if err != nil {
		return nil, nil, queryError(err)
	}
	want := r.Form.Get("metric")
	out := map[string][]metrics.Metadata{}
	for _, n := range names {
		md, ok := metrics.KnownMetadata[n]
		if !ok || (want != "" && n != want) {
			continue
		}
		if limit > 0 && len(out) >= limit {
			break
		}
		out[n] = []metrics.Metadata{md}
	}
	return out, nil, nil
}

// optInt reads an optional non-negative integer parameter (0 when absent).
func optInt(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, err
	}
	return max(n, 0), nil
}
