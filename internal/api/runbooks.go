package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/mamori/mamori/internal/alerting"
	"github.com/mamori/mamori/internal/runbook"
	"github.com/mamori/mamori/internal/store"
)

func (s *Server) runbookRoutes(api *http.ServeMux) {
	api.HandleFunc("GET /api/v1/runbooks", require(RoleViewer, s.listRunbooks))
	api.HandleFunc("GET /api/v1/runbooks/{name...}", require(RoleViewer, s.getRunbook))
	api.HandleFunc("PUT /api/v1/runbooks/{name...}", require(RoleOperator, s.putRunbook))
}

type runbookJSON struct {
	*runbook.Runbook
	HTML     string                 `json:"html,omitempty"`
	Markdown string                 `json:"markdown,omitempty"`
	Version  int                    `json:"version"`
	Versions []store.RunbookVersion `json:"versions,omitempty"`
	// Readers are the tenants whose customers and viewers may read it
	// (shown to operators only).
	Readers *[]string `json:"readers,omitempty"`
}

// visibleRunbook: operators and admins read every runbook; a customer or
// viewer reads a runbook bound only to its tenant's checks and hosts, or
// naming its tenant in its front matter (alerting.RunbookReaders).
func visibleRunbook(a *alerting.Service, p Principal, name string) bool {
	if p.Role.AtLeast(RoleOperator) && p.Tenant == "" {
		return true
	}
	return a.RunbookReadable(name, p.Tenant)
}

// readers is the Readers field for p: set for operators only.
func readers(a *alerting.Service, p Principal, name string) *[]string {
	if !p.Role.AtLeast(RoleOperator) {
		return nil
	}
	rs := a.RunbookReaders(name)
	if rs == nil {
		rs = []string{}
	}
	return &rs
}

func (s *Server) listRunbooks(w http.ResponseWriter, r *http.Request) {
	a := s.alerting(w)
	if a == nil {
		return
	}
	p := PrincipalFrom(r.Context())
	out := []*runbook.Runbook{}
	for _, rb := range a.Runbooks().List() {
		if visibleRunbook(a, p, rb.Name) {
			rb.Body = ""
			out = append(out, rb)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// getRunbook: GET /api/v1/runbooks/{name}?version=N — the runbook in force
// (or a stored version) with its markdown, safe HTML and version history.
func (s *Server) getRunbook(w http.ResponseWriter, r *http.Request) {
	a := s.alerting(w)
	if a == nil {
		return
	}
	name := r.PathValue("name")
	rb := a.Runbooks().Get(name)
	p := PrincipalFrom(r.Context())
	if rb == nil || !visibleRunbook(a, p, name) {
		writeError(w, http.StatusNotFound, "no runbook named "+quote(name))
		return
	}
	ver, err := queryInt(r, "version", 0, 0, 1<<30)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out := runbookJSON{Runbook: rb, Markdown: string(rb.Markdown()), Readers: readers(a, p, name)}
	if rs := s.st; rs != nil {
		out.Versions, _ = rs.RunbookVersions(r.Context(), name)
		if len(out.Versions) > 0 {
			out.Version = out.Versions[0].Version
		}
		if ver > 0 {
			v, err := rs.RunbookVersion(r.Context(), name, ver)
			if errors.Is(err, store.ErrNotFound) {
				writeError(w, http.StatusNotFound, "no such version")
				return
			} else if err != nil {
				writeError(w, http.StatusInternalServerError, "could not read the version")
				return
			}
			old, err := runbook.Parse(name, []byte(v.Markdown))
			if err != nil {
				writeError(w, http.StatusInternalServerError, "stored version unreadable")
				return
			}
			out.Runbook, out.Markdown, out.Version = old, v.Markdown, v.Version
		}
	}
	out.HTML = runbook.RenderHTML(out.Runbook.Body)
	writeJSON(w, http.StatusOK, out)
}

// putRunbook: PUT /api/v1/runbooks/{name} with the markdown (front matter
// for bindings) as the body; saved as a new version.
func (s *Server) putRunbook(w http.ResponseWriter, r *http.Request) {
	a := s.alerting(w)
	if a == nil {
		return
	}
	name := r.PathValue("name")
	if !runbook.ValidName(name) {
		writeError(w, http.StatusBadRequest, "invalid runbook name "+quote(name))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "a runbook is at most 1 MiB")
		return
	}
	if strings.TrimSpace(string(body)) == "" {
		writeError(w, http.StatusBadRequest, "the body must be the runbook's markdown")
		return
	}
	md, ok := runbookMarkdown(r, body)
	if !ok {
		writeError(w, http.StatusBadRequest, `a JSON body must be {"markdown": "..."} with the runbook's markdown`)
		return
	}
	p := PrincipalFrom(r.Context())
	rb, v, err := a.SaveRunbook(r.Context(), name, md, p.Name)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid runbook: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, runbookJSON{Runbook: rb, Version: v, HTML: runbook.RenderHTML(rb.Body), Readers: readers(a, p, name)})
}

// runbookMarkdown is the markdown of a runbook PUT: the body itself
// (text/markdown, text/plain), or the "markdown" field of a JSON object
// body. ok is false for a JSON object sent as application/json without a
// "markdown" string.
func runbookMarkdown(r *http.Request, body []byte) (string, bool) {
	if !strings.HasPrefix(strings.TrimSpace(string(body)), "{") {
		return string(body), true
	}
	var j struct {
		Markdown *string `json:"markdown"`
	}
	if err := json.Unmarshal(body, &j); err == nil && j.Markdown != nil && strings.TrimSpace(*j.Markdown) != "" {
		return *j.Markdown, true
	}
	if strings.Contains(strings.ToLower(r.Header.Get("Content-Type")), "json") {
		return "", false
	}
	return string(body), true // markdown that happens to start with "{"
}
