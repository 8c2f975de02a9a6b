package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/alerting"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/report"
	"github.com/mamori/mamori/internal/store"
)

func (s *Server) alerting(w http.ResponseWriter) *alerting.Service {
	a := s.alert
	if a == nil {
		writeError(w, http.StatusServiceUnavailable, "alerting is not running")
	}
	return a
}

func (s *Server) alertStore() Incidents { return s.st }

func (s *Server) incidentRoutes(api *http.ServeMux) {
	api.HandleFunc("GET /api/v1/incidents", require(RoleViewer, s.listIncidents))
	api.HandleFunc("GET /api/v1/incidents/stats", require(RoleViewer, s.incidentStats))
	api.HandleFunc("GET /api/v1/incidents/{id}", require(RoleViewer, s.getIncident))
	api.HandleFunc("POST /api/v1/incidents/{id}/ack", require(RoleCustomer, s.ackIncident))
	api.HandleFunc("POST /api/v1/incidents/{id}/comments", require(RoleCustomer, s.commentIncident))
	api.HandleFunc("PATCH /api/v1/incidents/{id}", require(RoleOperator, s.patchIncident))
	api.HandleFunc("POST /api/v1/incidents/{id}/resolve", require(RoleOperator, s.statusIncident(incident.Resolved)))
	api.HandleFunc("POST /api/v1/incidents/{id}/close", require(RoleOperator, s.statusIncident(incident.Closed)))
	api.HandleFunc("GET /api/v1/notifications", require(RoleOperator, s.listNotifications)) // internal
	s.mux.HandleFunc("GET /ack/{token}", s.ackPage)
	s.mux.HandleFunc("POST /ack/{token}", s.ackPage)
	s.mux.HandleFunc("POST /hooks/twilio/gather/{token}", s.twilioGather)
	s.mux.HandleFunc("POST /hooks/twilio/status/{token}", s.twilioStatus)
}

type incidentJSON struct {
	*incident.Incident
	RunbookMissing *bool                    `json:"runbook_missing,omitempty"` // operators only
	Targets        map[string]report.Target `json:"targets"`
	// The escalation state is the operators' (these shadow the incident's
	// fields; customers and viewers get none).
	EscLevel  *int       `json:"escalation_level,omitempty"`
	EscRound  *int       `json:"escalation_round,omitempty"`
	EscNextAt *time.Time `json:"escalation_next_at,omitempty"`
}

// incidentView is an incident as p sees it: operators the whole record;
// customers and viewers the customer view (incident.CustomerView: no
// internal comments, notification log, escalation or runbook nag, and the
// runbook's name only if they may read it).
func (s *Server) incidentView(p Principal, in *incident.Incident) incidentJSON {
	cfg := s.cfg()
	now := time.Now()
	if in.Timeline == nil {
		in.Timeline = []incident.Timeline{}
	}
	j := incidentJSON{Incident: in, Targets: map[string]report.Target{}}
	if p.Role.AtLeast(RoleOperator) {
		missing := in.Runbook == ""
		j.RunbookMissing, j.EscLevel, j.EscRound, j.EscNextAt = &missing, &in.EscLevel, &in.EscRound, in.EscNextAt
	} else {
		j.Incident = in.CustomerView()
		if a := s.alert; a == nil || !a.RunbookReadable(in.Runbook, p.Tenant) {
			j.Incident.Runbook = ""
		}
	}
	j.Targets["acknowledge"] = report.AckTarget(in, cfg.Incidents.AckTarget, now)
	if t, ok := report.ReportTarget(in, cfg.Incidents.ReportTarget, now); ok {
		j.Targets["recovery_report"] = t
	}
	return j
}

func (s *Server) incidentQuery(r *http.Request) (incident.Query, error) {
	var q incident.Query
	var err error
	v := r.URL.Query()
	for _, st := range v["status"] {
		for _, one := range strings.Split(st, ",") {
			switch one {
			case incident.Open, incident.Acknowledged, incident.Resolved, incident.Closed:
				q.Statuses = append(q.Statuses, one)
			default:
				return q, fmt.Errorf("status must be open, acknowledged, resolved or closed")
			}
		}
	}
	q.Check, q.Host, q.Text = v.Get("check"), v.Get("host"), v.Get("q")
	q.Tenant = v.Get("tenant")
	if p := PrincipalFrom(r.Context()); p.Tenant != "" {
		if q.Tenant != "" && q.Tenant != p.Tenant {
			q.Tenant = "\x00none" // another tenant: nothing
		} else {
			q.Tenant = p.Tenant
		}
	}
	if q.Since, err = queryTime(r, "since"); err != nil {
		return q, err
	}
	if q.Until, err = queryTime(r, "until"); err != nil {
		return q, err
	}
	if q.Limit, err = queryInt(r, "limit", 100, 1, 1000); err != nil {
		return q, err
	}
	q.Offset, err = queryInt(r, "offset", 0, 0, 1<<30)
	return q, err
}

// listIncidents: GET /api/v1/incidents?status=&check=&host=&tenant=&q=&since=&until=&limit=&offset=
func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) {
	q, err := s.incidentQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ins, err := s.alertStore().Incidents(r.Context(), q)
	if err != nil {
		s.log.Error("list incidents", "err", err)
		writeError(w, http.StatusInternalServerError, "could not read incidents")
		return
	}
	out := make([]incidentJSON, 0, len(ins))
	for _, in := range ins {
		out = append(out, s.incidentView(PrincipalFrom(r.Context()), in))
	}
	writeJSON(w, http.StatusOK, out)
}

// incidentStats: how often the response targets were met.
func (s *Server) incidentStats(w http.ResponseWriter, r *http.Request) {
	q, err := s.incidentQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q.Limit = 1000
	type counter struct {
		Measured int      `json:"measured"`
		Met      int      `json:"met"`
		Ratio    *float64 `json:"ratio"`
	}
	out := struct {
		Incidents      int      `json:"incidents"`
		Acknowledge    *counter `json:"acknowledge"`
		RecoveryReport *counter `json:"recovery_report"`
	}{Acknowledge: &counter{}, RecoveryReport: &counter{}}
	for q.Offset = 0; ; q.Offset += q.Limit {
		ins, err := s.alertStore().Incidents(r.Context(), q)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "could not read incidents")
			return
		}
		for _, in := range ins {
			out.Incidents++
			v := s.incidentView(PrincipalFrom(r.Context()), in)
			for name, c := range map[string]*counter{"acknowledge": out.Acknowledge, "recovery_report": out.RecoveryReport} {
				if t, ok := v.Targets[name]; ok && t.Met != nil {
					c.Measured++
					if *t.Met {
						c.Met++
					}
				}
			}
		}
		if len(ins) < q.Limit {
			break
		}
	}
	for _, c := range []*counter{out.Acknowledge, out.RecoveryReport} {
		if c.Measured > 0 {
			r := float64(c.Met) / float64(c.Measured)
			c.Ratio = &r
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// visibleIncident loads {id}; another tenant's incident is 404.
func (s *Server) visibleIncident(w http.ResponseWriter, r *http.Request) (*incident.Incident, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "incident id must be a positive integer")
		return nil, false
	}
	in, err := s.alertStore().Incident(r.Context(), id)
	if err != nil || !PrincipalFrom(r.Context()).Sees(in.Tenant) {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.Error("read incident", "id", id, "err", err)
			writeError(w, http.StatusInternalServerError, "could not read the incident")
			return nil, false
		}
		writeError(w, http.StatusNotFound, fmt.Sprintf("no incident %d", id))
		return nil, false
	}
	return in, true
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) {
	if in, ok := s.visibleIncident(w, r); ok {
		writeJSON(w, http.StatusOK, s.incidentView(PrincipalFrom(r.Context()), in))
	}
}

// readBody decodes an optional small JSON object strictly.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "body too large (64 KiB at most)")
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return true
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "invalid JSON body: more than one value")
		return false
	}
	return true
}

func (s *Server) actionResult(w http.ResponseWriter, r *http.Request, in *incident.Incident, err error) {
	switch {
	case errors.Is(err, alerting.ErrConflict):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "no such incident")
	case err != nil:
		s.log.Error("incident action", "err", err)
		writeError(w, http.StatusInternalServerError, "could not update the incident")
	default:
		writeJSON(w, http.StatusOK, s.incidentView(PrincipalFrom(r.Context()), in))
	}
}

// commentBody is the body of incident (and ticket) actions: the comment is
// "text" (canonical) or "comment" (accepted everywhere too).
type commentBody struct {
	Text       string `json:"text"`
	Comment    string `json:"comment"`
	Visibility string `json:"visibility"` // internal (operators' default) or customer
	Force      bool   `json:"force"`      // resolve/close: confirm although the check still fails
}

// noteVisibility is the visibility of a comment by p: operators choose
// (internal unless they say customer); a customer's or viewer's comment is
// always for customers, and asking for another is 403.
func noteVisibility(w http.ResponseWriter, p Principal, v string) (string, bool) {
	if !p.Role.AtLeast(RoleOperator) {
		if v != "" && v != incident.VisibilityCustomer {
			writeError(w, http.StatusForbidden, "a customer's comment is always visible to the customer")
			return "", false
		}
		return incident.VisibilityCustomer, true
	}
	vis, err := incident.ParseVisibility(v, incident.VisibilityInternal)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return "", false
	}
	return vis, true
}

// noteBody reads an action's optional body and its comment's visibility.
func noteBody(w http.ResponseWriter, r *http.Request) (alerting.Note, bool) {
	n, _, ok := noteBodyForce(w, r)
	return n, ok
}

// noteBodyForce is noteBody with the body's force flag.
func noteBodyForce(w http.ResponseWriter, r *http.Request) (alerting.Note, bool, bool) {
	var b commentBody
	if !readBody(w, r, &b) {
		return alerting.Note{}, false, false
	}
	vis, ok := noteVisibility(w, PrincipalFrom(r.Context()), b.Visibility)
	return alerting.Note{Text: strings.TrimSpace(b.Comment + b.Text), Visibility: vis}, b.Force, ok
}

func (s *Server) ackIncident(w http.ResponseWriter, r *http.Request) {
	note, ok := noteBody(w, r)
	if !ok {
		return
	}
	in, ok := s.visibleIncident(w, r)
	if !ok {
		return
	}
	a := s.alerting(w)
	if a == nil {
		return
	}
	out, err := a.AcknowledgeNote(r.Context(), in.ID, PrincipalFrom(r.Context()).Name, "api", note)
	s.actionResult(w, r, out, err)
}

func (s *Server) commentIncident(w http.ResponseWriter, r *http.Request) {
	note, ok := noteBody(w, r)
	if !ok {
		return
	}
	in, ok := s.visibleIncident(w, r)
	if !ok {
		return
	}
	if text := note.Text; text == "" || len(text) > 16<<10 {
		writeError(w, http.StatusBadRequest, "text: a comment of 1 to 16384 bytes is required")
		return
	}
	a := s.alerting(w)
	if a == nil {
		return
	}
	out, err := a.CommentNote(r.Context(), in.ID, PrincipalFrom(r.Context()).Name, note)
	s.actionResult(w, r, out, err)
}

func (s *Server) statusIncident(status string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		note, force, ok := noteBodyForce(w, r)
		if !ok {
			return
		}
		in, ok := s.visibleIncident(w, r)
		if !ok {
			return
		}
		a := s.alerting(w)
		if a == nil {
			return
		}
		out, err := a.SetStatusForce(r.Context(), in.ID, PrincipalFrom(r.Context()).Name, status, note, force)
		s.actionResult(w, r, out, err)
	}
}

type notificationJSON struct {
	*incident.Notification
	Deliveries []incident.Delivery `json:"deliveries"`
}

// listNotifications: GET /api/v1/notifications?incident=&status=&limit= — the delivery log.
func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request) {
	inc, err := queryInt(r, "incident", 0, 0, 1<<62)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	limit, err := queryInt(r, "limit", 100, 1, 1000)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	status := r.URL.Query().Get("status")
	if status != "" && status != incident.NotifyPending && status != incident.NotifyDelivered && status != incident.NotifyFailed {
		writeError(w, http.StatusBadRequest, "status must be pending, delivered or failed")
		return
	}
	p := PrincipalFrom(r.Context())
	ns, err := s.alertStore().Notifications(r.Context(), int64(inc), status, limit)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "could not read notifications")
		return
	}
	out := make([]notificationJSON, 0, len(ns))
	tenants := map[int64]string{}
	for _, n := range ns {
		if p.Tenant != "" {
			t, ok := tenants[n.IncidentID]
			if !ok {
				if in, err := s.alertStore().Incident(r.Context(), n.IncidentID); err == nil {
					t = in.Tenant
				}
				tenants[n.IncidentID] = t
			}
			if t != p.Tenant {
				continue
			}
		}
		ds, _ := s.alertStore().Deliveries(r.Context(), n.ID)
		if ds == nil {
			ds = []incident.Delivery{}
		}
		out = append(out, notificationJSON{n, ds})
	}
	writeJSON(w, http.StatusOK, out)
}

var ackTmpl = template.Must(template.New("ack").Parse(`<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>mamori</title></head><body style="font-family:sans-serif;max-width:36em;margin:3em auto">
{{if .Error}}<h1>確認できません / Cannot acknowledge</h1><p>{{.Error}}</p>
{{else if .Done}}<h1>受け付けました / Acknowledged</h1><p>インシデント #{{.ID}} ({{.Check}}) を {{.Who}} として確認済みにしました。エスカレーションは止まりました。</p><p>Incident #{{.ID}} ({{.Check}}) acknowledged as {{.Who}}. Escalation has stopped.</p>
{{else}}<h1>インシデント #{{.ID}}</h1><p>{{.Check}} — {{.State}}</p><p>{{.Output}}</p>
<form method="post"><button type="submit" style="font-size:1.3em;padding:.5em 1.5em">確認しました / Acknowledge</button></form>{{end}}
</body></html>`))

// ackPage serves the signed acknowledgement link: GET shows the incident
// and a button (mail scanners follow links; only the POST acknowledges).
func (s *Server) ackPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	data := map[string]any{}
	render := func(code int) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(code)
		_ = ackTmpl.Execute(w, data)
	}
	a := s.alert
	if a == nil {
		data["Error"] = "alerting is not running"
		render(http.StatusServiceUnavailable)
		return
	}
	id, who, err := a.ParseAckToken(r.PathValue("token"))
	if err != nil {
		data["Error"] = err.Error()
		render(http.StatusForbidden)
		return
	}
	in, err := s.alertStore().Incident(r.Context(), id)
	if err != nil {
		data["Error"] = "no such incident"
		render(http.StatusNotFound)
		return
	}
	data["ID"], data["Check"], data["State"], data["Output"], data["Who"] = in.ID, in.Check, in.State, in.Output, who
	if r.Method == http.MethodPost {
		if _, err := a.Acknowledge(r.Context(), id, who, "link", ""); err != nil && !errors.Is(err, alerting.ErrConflict) {
			data["Error"] = "could not acknowledge: " + err.Error()
			render(http.StatusInternalServerError)
			return
		}
		data["Done"] = true
	}
	render(http.StatusOK)
}

// twilioCallback reads a Twilio callback (the keypress or the call status):
// its form must carry a valid X-Twilio-Signature for one of the twilio
// channels and its path a valid acknowledgement token. It answers the
// error itself (ok false).
func (s *Server) twilioCallback(w http.ResponseWriter, r *http.Request) (a *alerting.Service, id int64, who string, ok bool) {
	a = s.alert
	if a == nil {
		writeError(w, http.StatusServiceUnavailable, "alerting is not running")
		return nil, 0, "", false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "bad form")
		return nil, 0, "", false
	}
	if !a.VerifyCallback(a.PublicURL(r.URL.RequestURI()), r.PostForm, r.Header.Get("X-Twilio-Signature")) {
		s.log.Warn("twilio callback with a bad signature refused", "path", r.URL.Path, "remote", r.RemoteAddr)
		writeError(w, http.StatusForbidden, "invalid Twilio signature")
		return nil, 0, "", false
	}
	id, who, err := a.ParseAckToken(r.PathValue("token"))
	if err != nil {
		writeError(w, http.StatusForbidden, err.Error())
		return nil, 0, "", false
	}
	return a, id, who, true
}

// twilioGather receives the callee's keypress: "1" acknowledges the
// incident.
func (s *Server) twilioGather(w http.ResponseWriter, r *http.Request) {
	a, id, who, ok := s.twilioCallback(w, r)
	if !ok {
		return
	}
	say := "確認を受け付けました。ありがとうございました。"
	if r.PostForm.Get("Digits") != "1" {
		say = "確認は登録されませんでした。"
	} else if _, err := a.Acknowledge(r.Context(), id, who, "phone", ""); err != nil && !errors.Is(err, alerting.ErrConflict) {
		s.log.Error("acknowledge by phone", "incident", id, "err", err)
		say = "確認の登録に失敗しました。"
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Say language="ja-JP">%s</Say></Response>`, template.HTMLEscapeString(say))
}

// twilioStatus receives a call's progress (Twilio's StatusCallback):
// answered, no-answer, busy, failed go on the incident's timeline; nobody
// answering moves escalation on at once.
func (s *Server) twilioStatus(w http.ResponseWriter, r *http.Request) {
	a, id, who, ok := s.twilioCallback(w, r)
	if !ok {
		return
	}
	if err := a.CallStatus(r.Context(), id, who, r.PostForm.Get("CallStatus")); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Error("twilio call status", "incident", id, "err", err)
		writeError(w, http.StatusInternalServerError, "could not record the call status")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
