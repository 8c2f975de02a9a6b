package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/store"
)

// ticketBodyMax bounds a ticket request body.
const ticketBodyMax = 1 << 20

// ticketRoutes registers the ticket API on mux. The handlers authenticate
// the request themselves unless an enclosing handler already has, so mux
// may be the authenticated /api/v1/ mux or the top-level one.
func (s *Server) ticketRoutes(mux *http.ServeMux) {
	h := func(min Role, f http.HandlerFunc) http.Handler { return s.ticketAuth(require(min, f)) }
	mux.Handle("GET /api/v1/tickets", h(RoleViewer, s.listTickets))
	mux.Handle("POST /api/v1/tickets", h(RoleCustomer, s.createTicket))
	mux.Handle("GET /api/v1/tickets/{id}", h(RoleViewer, s.getTicket))
	mux.Handle("PATCH /api/v1/tickets/{id}", h(RoleCustomer, s.patchTicket))
	mux.Handle("POST /api/v1/tickets/{id}/comments", h(RoleCustomer, s.commentTicket))
}

// ticketAuth authenticates a request that has no principal yet.
func (s *Server) ticketAuth(next http.Handler) http.Handler {
	auth := s.authenticate(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Value(ctxKey{}).(Principal); ok {
			next.ServeHTTP(w, r)
			return
		}
		auth.ServeHTTP(w, r)
	})
}

// ticketStore is the store's ticket side; without one the API answers 501.
func (s *Server) ticketStore(w http.ResponseWriter) (Tickets, bool) {
	ts, ok := s.tix, s.tix != nil
	if !ok {
		writeError(w, http.StatusNotImplemented, "tickets are not supported by this store")
	}
	return ts, ok
}

// ticketHTTPError is a refusal decided inside an update transaction.
type ticketHTTPError struct {
	code int
	msg  string
}

func (e *ticketHTTPError) Error() string { return e.msg }

func ticketNotFound(id int64) *ticketHTTPError {
	return &ticketHTTPError{http.StatusNotFound, "no ticket " + strconv.FormatInt(id, 10)}
}

// ticketFail answers a store or handler error.
func (s *Server) ticketFail(w http.ResponseWriter, id int64, what string, err error) {
	var he *ticketHTTPError
	var te *incident.TicketError
	switch {
	case errors.As(err, &he):
		writeError(w, he.code, he.msg)
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, ticketNotFound(id).msg)
	case errors.As(err, &te):
		writeError(w, http.StatusBadRequest, te.Error())
	default:
		s.log.Error(what, "ticket", id, "err", err)
		writeError(w, http.StatusInternalServerError, "could not "+what)
	}
}

// decodeTicketJSON reads exactly one JSON object of at most 1 MiB into v,
// refusing unknown fields. It answers the request itself on error.
func decodeTicketJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, ticketBodyMax)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if e := dec.Decode(&json.RawMessage{}); e != io.EOF {
			err = errors.New("body must hold one JSON object, not more")
			var mbe *http.MaxBytesError
			if errors.As(e, &mbe) {
				err = e
			}
		}
	}
	if err == nil {
		return true
	}
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var ute *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, "body larger than 1 MiB")
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "empty body: send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		writeError(w, http.StatusBadRequest, "malformed JSON: unexpected end of body")
	case errors.As(err, &se):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se))
	case errors.As(err, &ute):
		if ute.Field == "" {
			writeError(w, http.StatusBadRequest, "body must be a JSON object")
		} else {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("%s: must be %s, not %s", ute.Field, ticketJSONType(ute.Type.String()), ute.Value))
		}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		writeError(w, http.StatusBadRequest, "unknown field "+strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
	}
	return false
}

func ticketJSONType(goType string) string {
	switch {
	case strings.HasSuffix(goType, "string") && strings.Contains(goType, "[]"):
		return "an array of strings"
	case strings.Contains(goType, "[]"):
		return "an array of integers"
	case strings.HasSuffix(goType, "string"):
		return "a string"
	case strings.Contains(goType, "int"):
		return "an integer"
	}
	return "a " + goType
}

// ticketID parses the {id} of the path.
func ticketID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "ticket id must be a positive integer, not "+quote(r.PathValue("id")))
		return 0, false
	}
	return id, true
}

// visibleTicket reads a ticket the caller may see; another tenant's ticket
// is 404 like a missing one, so that ids do not leak across tenants.
func (s *Server) visibleTicket(w http.ResponseWriter, r *http.Request, ts Tickets) (*incident.Ticket, bool) {
	id, ok := ticketID(w, r)
	if !ok {
		return nil, false
	}
	t, err := ts.Ticket(r.Context(), id)
	if err == nil && !PrincipalFrom(r.Context()).Sees(t.Tenant) {
		err = store.ErrNotFound
	}
	if err != nil {
		s.ticketFail(w, id, "read the ticket", err)
		return nil, false
	}
	return t, true
}

func ticketStatuses(vals []string) ([]string, error) {
	var out []string
	for _, v := range vals {
		for _, one := range strings.Split(v, ",") {
			if one = strings.TrimSpace(one); one == "" {
				continue
			}
			if !slices.Contains(incident.TicketStatuses, one) {
				return nil, fmt.Errorf("status: unknown status %q (must be one of %s)", one, strings.Join(incident.TicketStatuses, ", "))
			}
			out = append(out, one)
		}
	}
	return out, nil
}

// listTickets: GET /api/v1/tickets?status=open,in_progress&status=waiting&tenant=&assignee=&kind=&q=&since=&until=&limit=&offset=
// Newest first, without timelines.
func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) {
	ts, ok := s.ticketStore(w)
	if !ok {
		return
	}
	p := PrincipalFrom(r.Context())
	vals := r.URL.Query()
	var q incident.TicketQuery
	var err error
	fail := func(err error) { writeError(w, http.StatusBadRequest, err.Error()) }
	if q.Statuses, err = ticketStatuses(vals["status"]); err != nil {
		fail(err)
		return
	}
	q.Tenant, q.Assignee, q.Kind, q.Text = vals.Get("tenant"), vals.Get("assignee"), vals.Get("kind"), vals.Get("q")
	if q.Kind != "" && !slices.Contains(incident.TicketKinds, q.Kind) {
		fail(fmt.Errorf("kind: unknown kind %q (must be one of %s)", q.Kind, strings.Join(incident.TicketKinds, ", ")))
		return
	}
	if q.Since, err = queryTime(r, "since"); err != nil {
		fail(err)
		return
	}
	if q.Until, err = queryTime(r, "until"); err != nil {
		fail(err)
		return
	}
	if q.Limit, err = queryInt(r, "limit", 100, 1, 1000); err != nil {
		fail(err)
		return
	}
	if q.Offset, err = queryInt(r, "offset", 0, 0, 1_000_000_000); err != nil {
		fail(err)
		return
	}
	if p.Tenant != "" {
		if q.Tenant != "" && q.Tenant != p.Tenant {
			writeJSON(w, http.StatusOK, []*incident.Ticket{})
			return
		}
		q.Tenant = p.Tenant
	}
	out, err := ts.Tickets(r.Context(), q)
	if err != nil {
		s.ticketFail(w, 0, "list tickets", err)
		return
	}
	if out == nil {
		out = []*incident.Ticket{}
	}
	writeJSON(w, http.StatusOK, out)
}

// getTicket: GET /api/v1/tickets/{id}, with its timeline.
func (s *Server) getTicket(w http.ResponseWriter, r *http.Request) {
	ts, ok := s.ticketStore(w)
	if !ok {
		return
	}
	if t, ok := s.visibleTicket(w, r, ts); ok {
		writeJSON(w, http.StatusOK, ticketView(PrincipalFrom(r.Context()), t))
	}
}

// ticketView is a ticket as p sees it: customers and viewers without the
// internal comments (incident.Ticket.CustomerView).
func ticketView(p Principal, t *incident.Ticket) *incident.Ticket {
	if t == nil || p.Role.AtLeast(RoleOperator) {
		return t
	}
	return t.CustomerView()
}

// ticketCreate is the body of POST /api/v1/tickets.
type ticketCreate struct {
	Tenant      string   `json:"tenant"`
	Kind        string   `json:"kind"`
	Title       string   `json:"title"`
	Body        string   `json:"body"`
	Priority    string   `json:"priority"`
	Assignee    string   `json:"assignee"`
	Hosts       []string `json:"hosts"`
	Checks      []string `json:"checks"`
	IncidentIDs []int64  `json:"incident_ids"`
}

// createTicket: POST /api/v1/tickets (customer and above). A caller bound to
// a tenant opens tickets for that tenant only; only an operator or admin
// assigns.
func (s *Server) createTicket(w http.ResponseWriter, r *http.Request) {
	ts, ok := s.ticketStore(w)
	if !ok {
		return
	}
	p := PrincipalFrom(r.Context())
	var req ticketCreate
	if !decodeTicketJSON(w, r, &req) {
		return
	}
	if p.Tenant != "" {
		if req.Tenant != "" && req.Tenant != p.Tenant {
			writeError(w, http.StatusForbidden, "tenant: you may only open tickets for your own tenant "+quote(p.Tenant))
			return
		}
		req.Tenant = p.Tenant
	}
	if req.Assignee != "" && !p.Role.AtLeast(RoleOperator) {
		writeError(w, http.StatusForbidden, "assignee: assigning a ticket needs the operator role")
		return
	}
	t := &incident.Ticket{Tenant: req.Tenant, Kind: req.Kind, Title: req.Title, Body: req.Body, Priority: req.Priority, Assignee: req.Assignee,
		Hosts: req.Hosts, Checks: req.Checks, IncidentIDs: req.IncidentIDs, CreatedBy: p.Name, Status: incident.TicketOpen}
	if t.Kind == "" {
		t.Kind = incident.TicketInquiry
	}
	if t.Priority == "" {
		t.Priority = incident.TicketNormal
	}
	if err := t.Validate(); err != nil {
		s.ticketFail(w, 0, "create the ticket", err)
		return
	}
	if bad := s.checkRefs(r.Context(), t.Tenant, t.Hosts, t.Checks, t.IncidentIDs); len(bad) > 0 {
		writeError(w, http.StatusBadRequest, "invalid ticket: it names what is not the tenant's", bad...)
		return
	}
	if err := ts.CreateTicket(r.Context(), t, s.alert.TicketOpenedNotices(t, p.Role.AtLeast(RoleOperator))...); err != nil {
		s.ticketFail(w, 0, "create the ticket", err)
		return
	}
	s.kickOutbox()
	w.Header().Set("Location", "/api/v1/tickets/"+strconv.FormatInt(t.ID, 10))
	writeJSON(w, http.StatusCreated, ticketView(PrincipalFrom(r.Context()), t))
}

// ticketPatch is the body of PATCH /api/v1/tickets/{id}; absent (or null)
// fields do not change.
type ticketPatch struct {
	Status      *string   `json:"status"`
	Assignee    *string   `json:"assignee"`
	Priority    *string   `json:"priority"`
	Title       *string   `json:"title"`
	Body        *string   `json:"body"`
	Hosts       *[]string `json:"hosts"`
	Checks      *[]string `json:"checks"`
	IncidentIDs *[]int64  `json:"incident_ids"`
}

func (pt *ticketPatch) apply(t *incident.Ticket) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&t.Status, pt.Status)
	set(&t.Assignee, pt.Assignee)
	set(&t.Priority, pt.Priority)
	set(&t.Title, pt.Title)
	set(&t.Body, pt.Body)
	if pt.Hosts != nil {
		t.Hosts = *pt.Hosts
	}
	if pt.Checks != nil {
		t.Checks = *pt.Checks
	}
	if pt.IncidentIDs != nil {
		t.IncidentIDs = *pt.IncidentIDs
	}
}

// onlyStatus reports whether the patch sets the status and nothing else.
func (pt *ticketPatch) onlyStatus() bool {
	return pt.Status != nil && pt.Assignee == nil && pt.Priority == nil && pt.Title == nil && pt.Body == nil &&
		pt.Hosts == nil && pt.Checks == nil && pt.IncidentIDs == nil
}

// patchTicket: PATCH /api/v1/tickets/{id} (operator and above; a customer
// may only close or reopen a ticket of their tenant).
func (s *Server) patchTicket(w http.ResponseWriter, r *http.Request) {
	ts, ok := s.ticketStore(w)
	if !ok {
		return
	}
	p := PrincipalFrom(r.Context())
	id, ok := ticketID(w, r)
	if !ok {
		return
	}
	var pt ticketPatch
	if !decodeTicketJSON(w, r, &pt) {
		return
	}
	if pt == (ticketPatch{}) {
		writeError(w, http.StatusBadRequest, "nothing to change: send one or more of status, assignee, priority, title, body, hosts, checks, incident_ids")
		return
	}
	// Check the values before the transaction, for a clear message even
	// when the caller may not see the ticket (the check reveals nothing).
	probe := incident.Ticket{Kind: incident.TicketInquiry, Status: incident.TicketOpen, Priority: incident.TicketNormal, Title: "x"}
	pt.apply(&probe)
	if err := probe.Validate(); err != nil {
		s.ticketFail(w, id, "update the ticket", err)
		return
	}
	customer := !p.Role.AtLeast(RoleOperator)
	if customer && (!pt.onlyStatus() || (*pt.Status != incident.TicketClosed && *pt.Status != incident.TicketOpen)) {
		// Answer 404 rather than 403 for a ticket the caller cannot see.
		if _, ok := s.visibleTicket(w, r, ts); ok {
			writeError(w, http.StatusForbidden, "a customer may only close or reopen a ticket: send {\"status\": \"closed\"} or {\"status\": \"open\"}")
		}
		return
	}
	t, err := ts.UpdateTicket(r.Context(), id, func(t *incident.Ticket) error {
		if !p.Sees(t.Tenant) {
			return ticketNotFound(id)
		}
		if customer && *pt.Status == incident.TicketOpen && t.Status != incident.TicketOpen &&
			t.Status != incident.TicketResolved && t.Status != incident.TicketClosed {
			return &ticketHTTPError{http.StatusConflict, "only a resolved or closed ticket can be reopened (this one is " + t.Status + ")"}
		}
		pt.apply(t)
		return nil
	}, p.Name)
	if err != nil {
		s.ticketFail(w, id, "update the ticket", err)
		return
	}
	writeJSON(w, http.StatusOK, ticketView(p, t))
}

// commentTicket: POST /api/v1/tickets/{id}/comments {"text": "..."}
// (customer and above); it answers the ticket with its timeline.
func (s *Server) commentTicket(w http.ResponseWriter, r *http.Request) {
	ts, ok := s.ticketStore(w)
	if !ok {
		return
	}
	p := PrincipalFrom(r.Context())
	t, ok := s.visibleTicket(w, r, ts)
	if !ok {
		return
	}
	var req struct {
		Text       *string `json:"text"`       // canonical
		Comment    *string `json:"comment"`    // accepted as on incidents
		Visibility string  `json:"visibility"` // internal (operators' default) or customer
	}
	if !decodeTicketJSON(w, r, &req) {
		return
	}
	if req.Text == nil {
		req.Text = req.Comment
	} else if req.Comment != nil {
		writeError(w, http.StatusBadRequest, "text and comment: give one of them (text is canonical)")
		return
	}
	if req.Text == nil {
		writeError(w, http.StatusBadRequest, "text: required")
		return
	}
	vis, ok := noteVisibility(w, p, req.Visibility)
	if !ok {
		return
	}
	notices := s.alert.TicketCommentNotices(t, p.Name, *req.Text, vis, p.Role.AtLeast(RoleOperator))
	if err := ts.AddTicketComment(r.Context(), t.ID, p.Name, *req.Text, vis, notices...); err != nil {
		s.ticketFail(w, t.ID, "add the comment", err)
		return
	}
	s.kickOutbox()
	after, err := ts.Ticket(r.Context(), t.ID)
	if err != nil {
		s.ticketFail(w, t.ID, "read the ticket", err)
		return
	}
	writeJSON(w, http.StatusCreated, ticketView(p, after))
}

// kickOutbox wakes the outbox after a ticket write queued notifications.
func (s *Server) kickOutbox() {
	if s.alert != nil {
		s.alert.KickOutbox()
	}
}
