package api

import (
	"compress/gzip"
	"crypto/sha256"
	"crypto/subtle"
	"io"
	"net/http"
	"strings"

	"github.com/mamori/mamori/internal/auth"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// tenantLabels name a tenant's objects: series carrying one are left out
// of the anonymous /metrics.
var tenantLabels = map[string]bool{"host": true, "tenant": true, "check": true, "instance": true}

// SetMetricsToken sets the token /metrics requires ("" = anonymous
// access, without tenant-identifying series).
func (s *Server) SetMetricsToken(tok string) {
	if tok == "" {
		s.metricsTok.Store(nil)
		return
	}
	sum := sha256.Sum256([]byte(tok))
	s.metricsTok.Store(&sum)
}

// metrics serves /metrics. With http.metrics_token set, it needs that
// token (or an admin or operator API token) and shows everything. Without
// it, anyone may scrape, and series that name hosts, checks or tenants are
// left out unless an admin or operator token is sent.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	full := false
	secret, hasTok := auth.BearerToken(r)
	want := s.metricsTok.Load()
	if hasTok && secret != "" {
		sum := sha256.Sum256([]byte(secret))
		if want != nil && subtle.ConstantTimeCompare(sum[:], want[:]) == 1 {
			full = true
		} else if p, ok := s.tokens().Lookup(secret); ok && p.Tenant == "" && p.Role.AtLeast(RoleOperator) {
			full = true
		}
	}
	if want != nil && !full {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mamori-metrics"`)
		writeError(w, http.StatusUnauthorized, "authentication required: send Authorization: Bearer METRICS_TOKEN (http.metrics_token)")
		return
	}
	var g prometheus.Gatherer = s.eng.Metrics.Registry
	if !full {
		g = anonymousView{g}
	}
	s.writeMetrics(w, r, g, full)
}

// writeMetrics writes the registry's families and, with full, the checks'
// series (streamed by the engine, not gathered), in the text exposition
// format, gzipped when the scraper accepts it.
func (s *Server) writeMetrics(w http.ResponseWriter, r *http.Request, g prometheus.Gatherer, full bool) {
	fams, err := g.Gather()
	if err != nil {
		s.log.Error("gather metrics", "err", err)
		writeError(w, http.StatusInternalServerError, "gather metrics: "+err.Error())
		return
	}
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	w.Header().Set("Content-Type", string(format))
	var out io.Writer = w
	if gzipAccepted(r) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
		gz := gzip.NewWriter(w)
		defer gz.Close()
		out = gz
	}
	enc := expfmt.NewEncoder(out, format)
	for _, f := range fams {
		if err := enc.Encode(f); err != nil {
			return // the scraper went away
		}
	}
	if full {
		s.eng.WriteCheckMetrics(out)
	}
}

func gzipAccepted(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		if name, _, _ := strings.Cut(strings.TrimSpace(part), ";"); name == "gzip" {
			return true
		}
	}
	return false
}

// anonymousView drops the series that carry a tenant-identifying label.
type anonymousView struct{ g prometheus.Gatherer }

func (v anonymousView) Gather() ([]*dto.MetricFamily, error) {
	fams, err := v.g.Gather()
	out := fams[:0]
	for _, f := range fams {
		ms := f.Metric[:0]
		for _, m := range f.Metric {
			if !namesTenant(m) {
				ms = append(ms, m)
			}
		}
		if len(ms) > 0 {
			f.Metric = ms
			out = append(out, f)
		}
	}
	return out, err
}

func namesTenant(m *dto.Metric) bool {
	for _, l := range m.Label {
		if tenantLabels[l.GetName()] {
			return true
		}
	}
	return false
}
