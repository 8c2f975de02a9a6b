package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/mamori/mamori/internal/maintenance"
	"github.com/mamori/mamori/internal/store"
)

func (s *Server) maintenanceRoutes(api *http.ServeMux) {
	api.HandleFunc("GET /api/v1/maintenances", require(RoleViewer, s.listMaintenances))
	api.HandleFunc("POST /api/v1/maintenances", require(RoleCustomer, s.createMaintenance))
	api.HandleFunc("DELETE /api/v1/maintenances/{id}", require(RoleCustomer, s.deleteMaintenance))
}

type windowJSON struct {
	*maintenance.Window
	Source string `json:"source"` // config or api
	Active bool   `json:"active"`
}

// MarshalJSON merges the window's own JSON with source and active.
func (w windowJSON) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(w.Window)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m["source"], m["active"] = w.Source, w.Active
	return json.Marshal(m)
}

func (s *Server) listMaintenances(w http.ResponseWriter, r *http.Request) {
	a := s.alerting(w)
	if a == nil {
		return
	}
	if err := a.RefreshMaintenance(r.Context()); err != nil {
		writeError(w, http.StatusInternalServerError, "could not read maintenance windows")
		return
	}
	p := PrincipalFrom(r.Context())
	now := time.Now()
	out := []windowJSON{}
	for _, win := range a.Windows() {
		if p.Tenant != "" && win.Tenant != p.Tenant {
			continue
		}
		src := "api"
		if win.ID == 0 {
			src = "config"
		}
		_, _, active := win.Occurrence(now)
		out = append(out, windowJSON{Window: win, Source: src, Active: active})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createMaintenance(w http.ResponseWriter, r *http.Request) {
	a := s.alerting(w)
	ms := s.st
	if a == nil {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "body too large (64 KiB at most)")
		return
	}
	var win maintenance.Window
	if err := json.Unmarshal(body, &win); err != nil {
		writeError(w, http.StatusBadRequest, "invalid maintenance window: "+err.Error())
		return
	}
	p := PrincipalFrom(r.Context())
	if p.Tenant != "" {
		if win.Tenant != "" && win.Tenant != p.Tenant {
			writeError(w, http.StatusForbidden, "tenant: you may only suspend your own systems")
			return
		}
		if win.All {
			writeError(w, http.StatusForbidden, "all: you may only suspend your own systems")
			return
		}
		win.Tenant = p.Tenant
	}
	win.ID, win.CreatedBy = 0, p.Name
	if win.Start.IsZero() && win.End.IsZero() && win.Cron == "" && win.Weekly == nil && win.Duration > 0 {
		win.Start = time.Now().Truncate(time.Second) // only a duration: from now
	}
	if errs, bad := win.Validate(), s.checkRefs(r.Context(), win.Tenant, win.Hosts, win.Checks, nil); len(errs)+len(bad) > 0 {
		var details []string
		for _, e := range errs {
			details = append(details, e.Error())
		}
		details = append(details, bad...)
		writeError(w, http.StatusBadRequest, "invalid maintenance window", details...)
		return
	}
	b, _ := json.Marshal(&win)
	id, err := ms.CreateMaintenance(r.Context(), b, p.Name)
	if err != nil {
		s.log.Error("create maintenance", "err", err)
		writeError(w, http.StatusInternalServerError, "could not save the window")
		return
	}
	_ = a.RefreshMaintenance(r.Context())
	win.ID = id
	_, _, active := win.Occurrence(time.Now())
	w.Header().Set("Location", "/api/v1/maintenances/"+strconv.FormatInt(id, 10))
	writeJSON(w, http.StatusCreated, windowJSON{Window: &win, Source: "api", Active: active})
}

func (s *Server) deleteMaintenance(w http.ResponseWriter, r *http.Request) {
	a := s.alerting(w)
	ms := s.st
	if a == nil {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "id must be a positive integer")
		return
	}
	p := PrincipalFrom(r.Context())
	var found *maintenance.Window
	for _, win := range a.Windows() {
		if win.ID == id && p.Sees(win.Tenant) && (p.Tenant == "" || win.Tenant == p.Tenant) {
			found = win
		}
	}
	if found == nil {
		writeError(w, http.StatusNotFound, "no maintenance window "+strconv.FormatInt(id, 10))
		return
	}
	if err := ms.DeleteMaintenance(r.Context(), id); err != nil && !errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusInternalServerError, "could not delete the window")
		return
	}
	_ = a.RefreshMaintenance(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"deleted": id})
}
