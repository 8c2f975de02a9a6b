package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"

	"github.com/mamori/mamori/internal/auth"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
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
	promhttp.HandlerFor(g, promhttp.HandlerOpts{}).ServeHTTP(w, r)
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
