package api

import (
	"net/http"
	"time"

	"github.com/mamori/mamori/internal/buildinfo"
	"github.com/mamori/mamori/internal/engine"
)

// role is this server's part among the servers of its database: "leader"
// (schedules, decides, alerts; always so alone on SQLite) or "follower".
func (s *Server) role() string {
	if s.eng.Leading() {
		return "leader"
	}
	return "follower"
}

// status: GET /api/v1/status is the server's version, role and size.
func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	db := "sqlite"
	if s.clustered {
		db = "postgres"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"version":  buildinfo.Short(),
		"role":     s.role(),
		"leader":   s.eng.Leading(),
		"database": db,
		"checks":   len(s.cfg().Checks),
		"time":     time.Now().UTC(),
	})
}

// refuseFollower answers 503 to what only the leader may do (run a check
// now); it reports whether it answered.
func (s *Server) refuseFollower(w http.ResponseWriter) bool {
	if s.eng.Leading() {
		return false
	}
	w.Header().Set("Retry-After", "1")
	writeError(w, http.StatusServiceUnavailable, engine.ErrFollower.Error())
	return true
}
