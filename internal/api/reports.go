package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/report"
	"github.com/mamori/mamori/internal/store"
)

func (s *Server) reportRoutes(api *http.ServeMux) {
	api.HandleFunc("GET /api/v1/reports", require(RoleViewer, s.listReports))
	api.HandleFunc("GET /api/v1/reports/{file}", require(RoleViewer, s.getReport))
	api.HandleFunc("POST /api/v1/reports", require(RoleCustomer, s.createReport))
}

func (s *Server) reportService(w http.ResponseWriter) *report.Service {
	rs := s.reports
	if rs == nil {
		writeError(w, http.StatusServiceUnavailable, "reports are not available on this server")
	}
	return rs
}

// listReports: GET /api/v1/reports?tenant=&limit=
func (s *Server) listReports(w http.ResponseWriter, r *http.Request) {
	rs := s.reportService(w)
	if rs == nil {
		return
	}
	tenant := r.URL.Query().Get("tenant")
	if p := PrincipalFrom(r.Context()); p.Tenant != "" {
		if tenant != "" && tenant != p.Tenant {
			writeJSON(w, http.StatusOK, []store.ReportRow{})
			return
		}
		tenant = p.Tenant
	}
	limit, err := queryInt(r, "limit", 100, 1, 1000)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	rows, err := rs.Store.Reports(r.Context(), tenant, limit)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "could not read reports")
		return
	}
	writeJSON(w, http.StatusOK, rows)
}

var reportTypes = map[string]string{
	"pdf":  "application/pdf",
	"html": "text/html; charset=utf-8",
	"json": "application/json; charset=utf-8",
}

// getReport: GET /api/v1/reports/{id}.pdf|.html|.json, or {id} for its
// description. Another tenant's report is 404.
func (s *Server) getReport(w http.ResponseWriter, r *http.Request) {
	rs := s.reportService(w)
	if rs == nil {
		return
	}
	name := r.PathValue("file")
	idText, format, _ := strings.Cut(name, ".")
	id, err := strconv.ParseInt(idText, 10, 64)
	if _, ok := reportTypes[format]; err != nil || id <= 0 || (format != "" && !ok) {
		writeError(w, http.StatusBadRequest, "report path must be ID, ID.pdf, ID.html or ID.json")
		return
	}
	row, body, err := rs.Store.Report(r.Context(), id, format)
	if p := PrincipalFrom(r.Context()); err == nil && p.Tenant != "" && row.Tenant != p.Tenant {
		err = store.ErrNotFound
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "no such report")
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, "could not read the report")
		return
	case format == "":
		writeJSON(w, http.StatusOK, row)
		return
	}
	w.Header().Set("Content-Type", reportTypes[format])
	w.Header().Set("Cache-Control", "private, max-age=3600") // immutable, but tenant data
	if format == "html" {
		// The report is self-contained: no scripts, inline styles only.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	}
	if format == "pdf" {
		w.Header().Set("Content-Disposition", `inline; filename="report-`+strconv.FormatInt(row.ID, 10)+`.pdf"`)
	}
	w.Write(body)
}

type reportRequest struct {
	Tenant string    `json:"tenant"`
	Month  string    `json:"month"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Lang   string    `json:"lang"`
}

// createReport: POST /api/v1/reports {"tenant","month"|"from","to","lang"}
// generates a report now and stores it (201 with its description).
func (s *Server) createReport(w http.ResponseWriter, r *http.Request) {
	rs := s.reportService(w)
	if rs == nil {
		return
	}
	var req reportRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return
	}
	p := PrincipalFrom(r.Context())
	if p.Tenant != "" {
		if req.Tenant != "" && req.Tenant != p.Tenant {
			writeError(w, http.StatusForbidden, "a report of another tenant")
			return
		}
		req.Tenant = p.Tenant
	}
	cfg := s.cfg()
	if req.Tenant == "" || !slices.Contains(cfg.TenantNames(), req.Tenant) {
		writeError(w, http.StatusBadRequest, "tenant must name a known tenant")
		return
	}
	if req.Lang != "" && req.Lang != "ja" && req.Lang != "en" {
		writeError(w, http.StatusBadRequest, "lang must be ja or en")
		return
	}
	from, to := req.From, req.To
	if req.Month != "" {
		var err error
		if from, to, err = report.Month(req.Month, cfg.Tenant(req.Tenant).Location()); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	if from.IsZero() || !from.Before(to) || to.Sub(from) > 366*24*time.Hour {
		writeError(w, http.StatusBadRequest, "give month (YYYY-MM) or from and to (RFC 3339, from before to, at most a year)")
		return
	}
	row, err := rs.Generate(r.Context(), req.Tenant, from, to, req.Lang, store.ReportOnDemand, p.Name)
	if err != nil {
		s.log.Error("report: generate", "tenant", req.Tenant, "err", err)
		writeError(w, http.StatusInternalServerError, "could not generate the report: "+err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, row)
}
