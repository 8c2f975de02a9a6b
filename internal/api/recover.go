package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/recovery"
)

// Recoverer runs recovery policies by hand (recovery.Runner).
type Recoverer interface {
	RunManual(ctx context.Context, check, who string, dryRun bool) (recovery.Outcome, error)
	History(check string, limit int) []recovery.Record
}

func (s *Server) recoverer(w http.ResponseWriter) Recoverer {
	if s.recov != nil {
		return s.recov
	}
	writeError(w, http.StatusServiceUnavailable, "automatic recovery is not running in this server")
	return nil
}

// recoverRoutes:
//
//	POST /api/v1/recover/{check...}   run the check's next recovery step now (?dry_run=1 or {"dry_run": true})
//	GET  /api/v1/recover/{check...}   the check's recovery audit log (?limit=50)
func (s *Server) recoverRoutes(api *http.ServeMux) {
	api.HandleFunc("POST /api/v1/recover/{name...}", require(RoleOperator, s.postRecover))
	api.HandleFunc("GET /api/v1/recover/{name...}", require(RoleViewer, s.getRecover))
}

func (s *Server) recoverCheck(w http.ResponseWriter, r *http.Request) (string, bool) {
	name := r.PathValue("name")
	v, ok := s.eng.Get(name)
	if !ok || !PrincipalFrom(r.Context()).Sees(v.Tenant) {
		writeError(w, http.StatusNotFound, "no such check: "+name)
		return "", false
	}
	return name, true
}

func (s *Server) postRecover(w http.ResponseWriter, r *http.Request) {
	rc := s.recoverer(w)
	if rc == nil || s.refuseFollower(w) {
		return
	}
	name, ok := s.recoverCheck(w, r)
	if !ok {
		return
	}
	var body struct {
		DryRun bool `json:"dry_run"`
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<10))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	if len(strings.TrimSpace(string(b))) > 0 {
		if err := json.Unmarshal(b, &body); err != nil {
			writeError(w, http.StatusBadRequest, "invalid body: "+err.Error())
			return
		}
	}
	if v := r.URL.Query().Get("dry_run"); v != "" {
		d, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "dry_run must be true or false")
			return
		}
		body.DryRun = body.DryRun || d
	}
	p := PrincipalFrom(r.Context())
	// The run (action and verification) goes on if the client goes away:
	// it is on the record either way.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Minute)
	defer cancel()
	out, err := rc.RunManual(ctx, name, p.Name, body.DryRun)
	switch {
	case errors.Is(err, recovery.ErrNotAllowed):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, recovery.ErrNoPolicy):
		writeError(w, http.StatusNotFound, err.Error())
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *Server) getRecover(w http.ResponseWriter, r *http.Request) {
	rc := s.recoverer(w)
	if rc == nil {
		return
	}
	name, ok := s.recoverCheck(w, r)
	if !ok {
		return
	}
	limit, err := queryInt(r, "limit", 50, 1, 1000)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out := rc.History(name, limit)
	if out == nil {
		out = []recovery.Record{}
	}
	writeJSON(w, http.StatusOK, out)
}
