package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/engine"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/server/specs"
	"github.com/mamori/mamori/internal/store/sqlite"
)

// Tokens of the ticket tests.
const (
	tokOp       = "op-token-0123456789"     // operator, all tenants
	tokAcme     = "acme-token-0123456789"   // customer of acme
	tokOther    = "other-token-0123456789"  // customer of other
	tokViewer   = "viewer-token-0123456789" // viewer of acme
	tokNotKnown = "not-a-token-at"          // no such token
)

const ticketTestConfig = `listen: 127.0.0.1:0
api_tokens:
  - name: op
    token: op-token-0123456789
    role: operator
  - name: acme-user
    token: acme-token-0123456789
    role: customer
    tenant: acme
  - name: other-user
    token: other-token-0123456789
    role: customer
    tenant: other
  - name: acme-viewer
    token: viewer-token-0123456789
    role: viewer
    tenant: acme
`

// ticketServer is a real Server on a real engine and SQLite store;
// noTickets builds it without a ticket store.
func ticketServer(t *testing.T, noTickets bool) http.Handler {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.Parse("t.yaml", []byte(ticketTestConfig+"hosts:\n  - {name: web1, address: 127.0.0.1, tenant: acme}\n"))
	if err != nil {
		t.Fatal(err)
	}
	sq, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bus := event.NewBus()
	eng, err := engine.New(ctx, specs.Plan(cfg), sq, log, engine.WithEvents(bus))
	if err != nil {
		t.Fatal(err)
	}
	d := Deps{Engine: eng, Config: func() *config.Config { return cfg }, Store: sq, Tickets: sq, Events: bus, Log: log}
	if noTickets {
		d.Tickets = nil
	}
	s := New(d)
	// routes() registers the ticket routes; if this tree's does not yet,
	// the catch-all answers 404 and the test registers them itself.
	probe := httptest.NewRequest("GET", "/api/v1/tickets", nil)
	probe.Header.Set("Authorization", "Bearer "+tokOp)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, probe)
	if rec.Code == http.StatusNotFound {
		s.ticketRoutes(s.mux)
	}
	return s
}

type ticketClient struct {
	t *testing.T
	h http.Handler
}

// do sends a request; body is sent as is when a string, else as JSON.
func (c ticketClient) do(tok, method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// expect sends a request, checks the status and decodes the answer into v.
func (c ticketClient) expect(code int, tok, method, path string, body, v any) {
	c.t.Helper()
	got, b := c.do(tok, method, path, body)
	if got != code {
		c.t.Fatalf("%s %s (token %s): got %d, want %d: %s", method, path, tok, got, code, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

func (c ticketClient) create(tok string, body any) *incident.Ticket {
	c.t.Helper()
	var tk incident.Ticket
	c.expect(http.StatusCreated, tok, "POST", "/api/v1/tickets", body, &tk)
	return &tk
}

func (c ticketClient) list(tok, query string) []int64 {
	c.t.Helper()
	var ts []incident.Ticket
	c.expect(http.StatusOK, tok, "GET", "/api/v1/tickets"+query, nil, &ts)
	ids := []int64{}
	for _, tk := range ts {
		ids = append(ids, tk.ID)
	}
	return ids
}

func idsEqual(a []int64, b ...int64) bool {
	return fmt.Sprint(a) == fmt.Sprint(append([]int64{}, b...))
}

func ticketPath(id int64, rest ...string) string {
	return fmt.Sprintf("/api/v1/tickets/%d", id) + strings.Join(rest, "")
}

func TestTicketRolesAndTenants(t *testing.T) {
	c := ticketClient{t, ticketServer(t, false)}

	acmeByOp := c.create(tokOp, map[string]any{"tenant": "acme", "title": "Renew the certificate", "kind": "operation", "assignee": "op"})
	otherByOp := c.create(tokOp, map[string]any{"tenant": "other", "title": "Other's question"})
	global := c.create(tokOp, map[string]any{"title": "Patch every kernel", "kind": "operation"})
	if acmeByOp.Tenant != "acme" || acmeByOp.CreatedBy != "op" || acmeByOp.Assignee != "op" || otherByOp.Tenant != "other" || global.Tenant != "" {
		t.Fatalf("operator tickets: %+v %+v %+v", acmeByOp, otherByOp, global)
	}

	// A customer's ticket is their tenant's, whatever they ask.
	acmeOwn := c.create(tokAcme, map[string]any{"title": "Mail bounces", "body": "since 9:00"})
	if acmeOwn.Tenant != "acme" || acmeOwn.CreatedBy != "acme-user" || acmeOwn.Status != "open" || acmeOwn.Priority != "normal" || acmeOwn.Kind != "inquiry" {
		t.Fatalf("customer ticket: %+v", acmeOwn)
	}
	sameTenant := c.create(tokAcme, map[string]any{"title": "Explicit tenant", "tenant": "acme", "priority": "high"})
	c.expect(http.StatusForbidden, tokAcme, "POST", "/api/v1/tickets", map[string]any{"title": "Sneaky", "tenant": "other"}, nil)
	c.expect(http.StatusForbidden, tokAcme, "POST", "/api/v1/tickets", map[string]any{"title": "Self-assigned", "assignee": "op"}, nil)
	otherOwn := c.create(tokOther, map[string]any{"title": "Other's own"})

	// Authentication.
	c.expect(http.StatusUnauthorized, "", "GET", "/api/v1/tickets", nil, nil)
	c.expect(http.StatusUnauthorized, tokNotKnown, "GET", ticketPath(acmeOwn.ID), nil, nil)
	c.expect(http.StatusUnauthorized, "", "POST", "/api/v1/tickets", map[string]any{"title": "anonymous"}, nil)

	// Listing: operators see all, tenants their own only.
	if got := c.list(tokOp, ""); !idsEqual(got, otherOwn.ID, sameTenant.ID, acmeOwn.ID, global.ID, otherByOp.ID, acmeByOp.ID) {
		t.Errorf("operator list %v", got)
	}
	if got := c.list(tokOp, "?tenant=other"); !idsEqual(got, otherOwn.ID, otherByOp.ID) {
		t.Errorf("operator list of tenant other %v", got)
	}
	for _, tok := range []string{tokAcme, tokViewer} {
		if got := c.list(tok, ""); !idsEqual(got, sameTenant.ID, acmeOwn.ID, acmeByOp.ID) {
			t.Errorf("%s list %v", tok, got)
		}
		if got := c.list(tok, "?tenant=other"); !idsEqual(got) {
			t.Errorf("%s sees tenant other: %v", tok, got)
		}
	}
	if got := c.list(tokOther, ""); !idsEqual(got, otherOwn.ID, otherByOp.ID) {
		t.Errorf("other list %v", got)
	}

	// Reading: another tenant's ticket, or a global one, is 404 like a missing one.
	for _, x := range []struct {
		tok  string
		id   int64
		code int
	}{
		{tokOp, acmeOwn.ID, 200}, {tokOp, otherOwn.ID, 200}, {tokOp, global.ID, 200},
		{tokAcme, acmeOwn.ID, 200}, {tokAcme, acmeByOp.ID, 200}, {tokAcme, otherOwn.ID, 404}, {tokAcme, global.ID, 404},
		{tokViewer, acmeOwn.ID, 200}, {tokViewer, otherByOp.ID, 404},
		{tokOther, acmeOwn.ID, 404}, {tokOther, otherByOp.ID, 200},
		{tokOp, 99999, 404}, {tokAcme, 99999, 404},
	} {
		code, b := c.do(x.tok, "GET", ticketPath(x.id), nil)
		if code != x.code {
			t.Errorf("GET %d as %s: %d, want %d: %s", x.id, x.tok, code, x.code, b)
		}
	}
	// The 404 of another tenant's ticket is that of a missing one.
	_, hidden := c.do(tokOther, "GET", ticketPath(acmeOwn.ID), nil)
	_, missing := c.do(tokOther, "GET", ticketPath(99999), nil)
	if strings.Replace(string(hidden), fmt.Sprint(acmeOwn.ID), "N", 1) != strings.Replace(string(missing), "99999", "N", 1) {
		t.Errorf("hidden %s vs missing %s", hidden, missing)
	}

	// Writing: the viewer is read-only; a customer on another tenant's
	// ticket gets 404, never 403.
	closeReq := map[string]any{"status": "closed"}
	for _, x := range []struct {
		tok, method, path string
		body              any
		code              int
	}{
		{tokViewer, "POST", "/api/v1/tickets", map[string]any{"title": "viewer ticket"}, 403},
		{tokViewer, "PATCH", ticketPath(acmeOwn.ID), closeReq, 403},
		{tokViewer, "POST", ticketPath(acmeOwn.ID, "/comments"), map[string]any{"text": "hi"}, 403},
		{tokOther, "PATCH", ticketPath(acmeOwn.ID), closeReq, 404},
		{tokOther, "PATCH", ticketPath(acmeOwn.ID), map[string]any{"title": "mine now"}, 404},
		{tokOther, "POST", ticketPath(acmeOwn.ID, "/comments"), map[string]any{"text": "hi"}, 404},
		{tokAcme, "PATCH", ticketPath(global.ID), closeReq, 404},
		{tokAcme, "PATCH", ticketPath(acmeOwn.ID), map[string]any{"title": "new title"}, 403},
		{tokAcme, "PATCH", ticketPath(acmeOwn.ID), map[string]any{"status": "in_progress"}, 403},
		{tokAcme, "PATCH", ticketPath(acmeOwn.ID), map[string]any{"status": "closed", "priority": "urgent"}, 403},
		{tokAcme, "PATCH", ticketPath(acmeOwn.ID), map[string]any{"assignee": "acme-user"}, 403},
		{tokOp, "PATCH", ticketPath(otherOwn.ID), map[string]any{"status": "in_progress", "assignee": "op"}, 200},
		{tokOp, "POST", ticketPath(otherOwn.ID, "/comments"), map[string]any{"text": "looking"}, 201},
		{tokOther, "POST", ticketPath(otherOwn.ID, "/comments"), map[string]any{"text": "thanks"}, 201},
		{tokOp, "PATCH", ticketPath(99999), closeReq, 404},
		{tokOp, "POST", ticketPath(99999, "/comments"), map[string]any{"text": "x"}, 404},
		{tokOp, "DELETE", ticketPath(acmeOwn.ID), nil, 404},
	} {
		code, b := c.do(x.tok, x.method, x.path, x.body)
		if code != x.code {
			t.Errorf("%s %s as %s: %d, want %d: %s", x.method, x.path, x.tok, code, x.code, b)
		}
	}
	// None of the refused requests changed anything.
	var got incident.Ticket
	c.expect(200, tokOp, "GET", ticketPath(acmeOwn.ID), nil, &got)
	if got.Title != "Mail bounces" || got.Status != "open" || got.Assignee != "" || len(got.Timeline) != 1 {
		t.Fatalf("refused requests changed the ticket: %+v", got)
	}

	// A customer closes and reopens their own ticket, but cannot reopen
	// work in progress (nor undo it by "reopening").
	var tk incident.Ticket
	c.expect(200, tokAcme, "PATCH", ticketPath(acmeOwn.ID), closeReq, &tk)
	if tk.Status != "closed" || tk.ClosedAt == nil {
		t.Fatalf("customer close: %+v", tk)
	}
	c.expect(200, tokAcme, "PATCH", ticketPath(acmeOwn.ID), map[string]any{"status": "open"}, &tk)
	if tk.Status != "open" || tk.ClosedAt != nil {
		t.Fatalf("customer reopen: %+v", tk)
	}
	c.expect(200, tokOp, "PATCH", ticketPath(acmeOwn.ID), map[string]any{"status": "in_progress"}, nil)
	c.expect(http.StatusConflict, tokAcme, "PATCH", ticketPath(acmeOwn.ID), map[string]any{"status": "open"}, nil)
	c.expect(200, tokAcme, "PATCH", ticketPath(acmeOwn.ID), closeReq, &tk)
	last := tk.Timeline[len(tk.Timeline)-1]
	if last.Actor != "acme-user" || last.Text != "status in_progress → closed" {
		t.Fatalf("close entry %+v", last)
	}
}

func TestTicketValidation(t *testing.T) {
	c := ticketClient{t, ticketServer(t, false)}
	tk := c.create(tokOp, map[string]any{"title": "Valid", "tenant": "acme"})
	long := func(n int) string { return strings.Repeat("a", n) }
	for _, x := range []struct {
		method, path string
		body         any
		code         int
		want         string
	}{
		{"POST", "/api/v1/tickets", map[string]any{"title": ""}, 400, "title: must not be empty"},
		{"POST", "/api/v1/tickets", map[string]any{"body": "no title"}, 400, "title: must not be empty"},
		{"POST", "/api/v1/tickets", map[string]any{"title": "  \t "}, 400, "title: must not be empty"},
		{"POST", "/api/v1/tickets", map[string]any{"title": long(201)}, 400, "title: must be at most 200 characters"},
		{"POST", "/api/v1/tickets", map[string]any{"title": "two\nlines"}, 400, "title: must be one line"},
		{"POST", "/api/v1/tickets", map[string]any{"title": "x", "body": long(64<<10 + 1)}, 400, "body: must be at most 65536 bytes"},
		{"POST", "/api/v1/tickets", map[string]any{"title": "x", "kind": "bug"}, 400, `kind: unknown kind "bug"`},
		{"POST", "/api/v1/tickets", map[string]any{"title": "x", "priority": "p1"}, 400, `priority: unknown priority "p1" (must be one of low, normal, high, urgent)`},
		{"POST", "/api/v1/tickets", map[string]any{"title": "x", "hosts": []string{"web1", ""}}, 400, "hosts[1]: must not be empty"},
		{"POST", "/api/v1/tickets", map[string]any{"title": "x", "incident_ids": []int{0}}, 400, "incident_ids[0]: must be a positive incident id"},
		{"POST", "/api/v1/tickets", map[string]any{"title": "x", "status": "open"}, 400, `unknown field "status"`},
		{"POST", "/api/v1/tickets", map[string]any{"title": "x", "titel": "y"}, 400, `unknown field "titel"`},
		{"POST", "/api/v1/tickets", map[string]any{"title": 5}, 400, "title: must be a string"},
		{"POST", "/api/v1/tickets", map[string]any{"title": "x", "hosts": "web1"}, 400, "hosts: must be an array of strings"},
		{"POST", "/api/v1/tickets", map[string]any{"title": "x", "incident_ids": []string{"3"}}, 400, "incident_ids"},
		{"POST", "/api/v1/tickets", `{"title": "a"} {"title": "b"}`, 400, "one JSON object"},
		{"POST", "/api/v1/tickets", `{"title": "a"`, 400, "malformed JSON"},
		{"POST", "/api/v1/tickets", `{"title": 'a'}`, 400, "malformed JSON at byte"},
		{"POST", "/api/v1/tickets", ``, 400, "empty body"},
		{"POST", "/api/v1/tickets", `["title"]`, 400, "body must be a JSON object"},
		{"POST", "/api/v1/tickets", `{"title": "x", "body": "` + long(1<<20) + `"}`, 413, "larger than 1 MiB"},
		{"PATCH", ticketPath(tk.ID), map[string]any{"status": "done"}, 400, `status: unknown status "done" (must be one of open, in_progress, waiting, resolved, closed)`},
		{"PATCH", ticketPath(tk.ID), map[string]any{"title": ""}, 400, "title: must not be empty"},
		{"PATCH", ticketPath(tk.ID), map[string]any{"title": long(201)}, 400, "title: must be at most 200"},
		{"PATCH", ticketPath(tk.ID), map[string]any{"body": long(64<<10 + 1)}, 400, "body: must be at most"},
		{"PATCH", ticketPath(tk.ID), map[string]any{"tenant": "other"}, 400, `unknown field "tenant"`},
		{"PATCH", ticketPath(tk.ID), map[string]any{}, 400, "nothing to change"},
		{"PATCH", ticketPath(tk.ID), `{"status": null}`, 400, "nothing to change"},
		{"PATCH", "/api/v1/tickets/abc", map[string]any{"status": "closed"}, 400, "ticket id must be a positive integer"},
		{"GET", "/api/v1/tickets/0", nil, 400, "ticket id must be a positive integer"},
		{"POST", ticketPath(tk.ID, "/comments"), map[string]any{}, 400, "text: required"},
		{"POST", ticketPath(tk.ID, "/comments"), map[string]any{"text": "  "}, 400, "text: must not be empty"},
		{"POST", ticketPath(tk.ID, "/comments"), map[string]any{"text": long(64<<10 + 1)}, 400, "text: must be at most"},
		{"POST", ticketPath(tk.ID, "/comments"), map[string]any{"text": "x", "author": "someone"}, 400, `unknown field "author"`},
		{"GET", "/api/v1/tickets?status=open,bogus", nil, 400, `status: unknown status "bogus"`},
		{"GET", "/api/v1/tickets?kind=bug", nil, 400, `kind: unknown kind "bug"`},
		{"GET", "/api/v1/tickets?limit=0", nil, 400, "limit must be an integer from 1 to 1000"},
		{"GET", "/api/v1/tickets?offset=-1", nil, 400, "offset must be"},
		{"GET", "/api/v1/tickets?since=yesterday", nil, 400, "since must be an RFC 3339 time"},
		{"GET", "/api/v1/tickets?until=x", nil, 400, "until must be"},
	} {
		code, b := c.do(tokOp, x.method, x.path, x.body)
		var e apiError
		_ = json.Unmarshal(b, &e)
		if code != x.code || !strings.Contains(e.Error, x.want) {
			t.Errorf("%s %s %.80v: %d %s, want %d %q", x.method, x.path, x.body, code, b, x.code, x.want)
		}
	}
	// The limits themselves are fine.
	ok := c.create(tokOp, map[string]any{"title": strings.Repeat("長", 200), "body": long(64 << 10)})
	if len([]rune(ok.Title)) != 200 {
		t.Fatalf("title %q", ok.Title)
	}
	// Nothing invalid was stored.
	if got := c.list(tokOp, ""); !idsEqual(got, ok.ID, tk.ID) {
		t.Fatalf("tickets %v", got)
	}
	var after incident.Ticket
	c.expect(200, tokOp, "GET", ticketPath(tk.ID), nil, &after)
	if after.Title != "Valid" || after.Status != "open" || len(after.Timeline) != 1 {
		t.Fatalf("invalid patches changed the ticket: %+v", after)
	}
}

func TestTicketLifecycle(t *testing.T) {
	c := ticketClient{t, ticketServer(t, false)}
	start := time.Now().Add(-time.Second).UTC()

	// A customer opens an inquiry.
	code, b := c.do(tokAcme, "POST", "/api/v1/tickets", map[string]any{
		"title": "Webサイトが遅い", "body": "今朝から www.acme.example の表示が遅いです。", "priority": "high", "hosts": []string{"web1"},
	})
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, b)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "tenant", "kind", "title", "body", "status", "priority", "assignee", "created_by", "created_at", "updated_at",
		"closed_at", "hosts", "checks", "incident_ids", "timeline"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("the ticket JSON lacks %q: %s", k, b)
		}
	}
	var tk incident.Ticket
	if err := json.Unmarshal(b, &tk); err != nil {
		t.Fatal(err)
	}
	id := tk.ID
	if len(tk.Timeline) != 1 || tk.Timeline[0].Kind != "created" || tk.Timeline[0].Actor != "acme-user" || tk.CreatedAt.Before(start) {
		t.Fatalf("created: %+v", tk)
	}

	// The operator takes it, links the check and an incident.
	c.expect(200, tokOp, "PATCH", ticketPath(id), map[string]any{
		"status": "in_progress", "assignee": "op", "checks": []string{"web1/http"}, "incident_ids": []int64{12},
	}, &tk)
	if tk.Status != "in_progress" || tk.Assignee != "op" || len(tk.Checks) != 1 || tk.IncidentIDs[0] != 12 {
		t.Fatalf("taken: %+v", tk)
	}
	c.expect(201, tokOp, "POST", ticketPath(id, "/comments"), map[string]any{"text": "調査します。", "visibility": "customer"}, &tk) // a reply to the customer
	c.expect(200, tokOp, "PATCH", ticketPath(id), map[string]any{"status": "waiting"}, nil)
	c.expect(201, tokAcme, "POST", ticketPath(id, "/comments"), map[string]any{"text": "よろしくお願いします。"}, &tk)
	c.expect(200, tokOp, "PATCH", ticketPath(id), map[string]any{"status": "resolved", "body": tk.Body + "\n(原因: ディスク I/O)"}, &tk)
	if tk.ClosedAt != nil {
		t.Fatalf("resolved is not closed: %+v", tk)
	}
	// The customer confirms by closing it.
	c.expect(200, tokAcme, "PATCH", ticketPath(id), map[string]any{"status": "closed"}, &tk)
	if tk.Status != "closed" || tk.ClosedAt == nil || tk.ClosedAt.Before(tk.CreatedAt) {
		t.Fatalf("closed: %+v", tk)
	}

	var full incident.Ticket
	c.expect(200, tokViewer, "GET", ticketPath(id), nil, &full)
	var steps []string
	for _, e := range full.Timeline {
		steps = append(steps, e.Actor+" "+e.Kind+": "+e.Text)
	}
	want := []string{
		"acme-user created: inquiry opened: Webサイトが遅い",
		"op status: status open → in_progress",
		"op assigned: assigned to op",
		"op link: linked check web1/http",
		"op link: linked incident #12",
		"op comment: 調査します。",
		"op status: status in_progress → waiting",
		"acme-user comment: よろしくお願いします。",
		"op resolved: status waiting → resolved",
		"op body: description edited",
		"acme-user closed: status resolved → closed",
	}
	if strings.Join(steps, "\n") != strings.Join(want, "\n") {
		t.Fatalf("timeline:\n%s\nwant:\n%s", strings.Join(steps, "\n"), strings.Join(want, "\n"))
	}

	// Filters through the API.
	other := c.create(tokOp, map[string]any{"title": "Rotate the logs", "kind": "operation", "tenant": "acme", "assignee": "sato"})
	for q, wantIDs := range map[string][]int64{
		"?status=closed":                       {id},
		"?status=open&status=closed":           {other.ID, id},
		"?status=open,in_progress":             {other.ID},
		"?kind=inquiry":                        {id},
		"?assignee=sato":                       {other.ID},
		"?q=" + "%E9%81%85%E3%81%84":           {id}, // 遅い
		"?q=ROTATE":                            {other.ID},
		"?q=I/O":                               {id},
		"?q=" + "%E8%AA%BF%E6%9F%BB":           {id}, // 調査, in a comment
		"?limit=1":                             {other.ID},
		"?limit=1&offset=1":                    {id},
		"?since=" + start.Format(time.RFC3339): {other.ID, id},
		"?until=" + start.Format(time.RFC3339): {},
		"?since=" + fmt.Sprint(start.Add(time.Hour).Unix()): {},
		"?tenant=acme&kind=operation&status=open":           {other.ID},
	} {
		if got := c.list(tokOp, q); !idsEqual(got, wantIDs...) {
			t.Errorf("list %s: %v, want %v", q, got, wantIDs)
		}
	}

	// Reopened by the customer, the closing time goes.
	c.expect(200, tokAcme, "PATCH", ticketPath(id), map[string]any{"status": "open"}, &tk)
	if tk.Status != "open" || tk.ClosedAt != nil || tk.Timeline[len(tk.Timeline)-1].Kind != "reopened" {
		t.Fatalf("reopened: %+v", tk)
	}
	code, b = c.do(tokOp, "GET", ticketPath(id), nil)
	if code != 200 || !strings.Contains(string(b), `"closed_at":null`) {
		t.Fatalf("reopened JSON: %s", b)
	}
}

// A store without tickets makes the routes answer 501.
func TestTicketsNotSupported(t *testing.T) {
	c := ticketClient{t, ticketServer(t, true)}
	for _, x := range []struct{ method, path string }{
		{"GET", "/api/v1/tickets"}, {"POST", "/api/v1/tickets"}, {"GET", "/api/v1/tickets/1"},
		{"PATCH", "/api/v1/tickets/1"}, {"POST", "/api/v1/tickets/1/comments"},
	} {
		if code, b := c.do(tokOp, x.method, x.path, map[string]any{"title": "x"}); code != http.StatusNotImplemented {
			t.Errorf("%s %s: %d %s", x.method, x.path, code, b)
		}
	}
	// Authentication and roles still come first.
	if code, _ := c.do("", "GET", "/api/v1/tickets", nil); code != http.StatusUnauthorized {
		t.Errorf("unauthenticated: %d", code)
	}
	if code, _ := c.do(tokViewer, "POST", "/api/v1/tickets", map[string]any{"title": "x"}); code != http.StatusForbidden {
		t.Errorf("viewer: %d", code)
	}
}
