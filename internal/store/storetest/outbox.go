package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
)

// Fill writes a little of everything a store holds: results, states and
// events, an incident with its timeline, a queued and a delivered
// notification, a cursor, a user with a token and a session, a login
// attempt, a ticket, a maintenance, a runbook, a report, a server run, a
// recovery action, an agent and a push report. It returns the incident's id.
func Fill(t testing.TB, s Store) int64 {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	var st state.State
	p := state.Policy{Attempts: 2}
	var ws []store.Write
	for i, status := range []check.Status{check.OK, check.Critical, check.Critical} {
		r := check.Result{Status: status, Output: "out " + status.String(), Time: t0.Add(time.Duration(i) * time.Minute), Duration: time.Millisecond}
		var tr *state.Transition
		st, tr = state.Next(st, r, p)
		ws = append(ws, store.Write{Check: "web1/http", Result: r, State: st, Transition: tr})
	}
	ids, err := s.Commit(ctx, ws)
	must(t, err)
	in := &incident.Incident{Check: "web1/http", Host: "web1", Tenant: "acme", Scope: "check", Status: incident.Open, State: check.Critical,
		Title: "web1/http CRITICAL", Output: "down", DetectedAt: t0.Add(time.Minute), OpenedAt: t0.Add(2 * time.Minute), EscLevel: -1}
	n := &incident.Notification{Channel: "mail", Contact: "taro", Recipient: "taro@example.com", Kind: "problem", NextAt: t0, CreatedAt: t0,
		Payload: []byte(`{"x":1}`), Dedup: "problem/1/mail/taro"}
	must(t, s.Apply(ctx, "incidents", ids[2], func(tx incident.Tx) error {
		if err := tx.CreateIncident(ctx, in); err != nil {
			return err
		}
		if err := tx.AddTimeline(ctx, in.ID, incident.Timeline{Time: t0, Kind: "opened", Text: "opened"}); err != nil {
			return err
		}
		if err := tx.Suppress(ctx, "web2/http", ids[1], t0); err != nil {
			return err
		}
		n.IncidentID = in.ID
		_, err := tx.Enqueue(ctx, n)
		return err
	}))
	n.Status, n.Attempts = incident.NotifyDelivered, 1
	must(t, s.RecordDelivery(ctx, n, incident.Delivery{Attempt: 1, Time: t0, OK: true, Duration: 0.25}, nil))
	uid, err := s.AuthCreateUser(ctx, auth.StoredUser{User: auth.User{Name: "Hanako", Role: "admin", CreatedAt: t0}, PasswordHash: "$argon2id$h"})
	must(t, err)
	_, err = s.AuthCreateToken(ctx, auth.StoredToken{Token: auth.Token{UserID: uid, Label: "ci", CreatedAt: t0}, Digest: dig("tok")})
	must(t, err)
	must(t, s.AuthCreateSession(ctx, auth.StoredSession{Digest: dig("sess"), UserID: uid, CreatedAt: t0, LastSeen: t0, IP: "127.0.0.1"}))
	must(t, s.AuthRecordLogin(ctx, auth.LoginAttempt{User: "hanako", Time: t0, IP: "127.0.0.1", Outcome: auth.LoginSuccess}))
	must(t, s.CreateTicket(ctx, &incident.Ticket{Tenant: "acme", Title: "slow", CreatedBy: "hanako", CreatedAt: t0, IncidentIDs: []int64{in.ID}}))
	_, err = s.CreateMaintenance(ctx, []byte(`{"hosts":["web1"]}`), "hanako")
	must(t, err)
	_, err = s.SaveRunbook(ctx, "http", "# HTTP\nrestart nginx", "hanako")
	must(t, err)
	_, err = s.SaveReport(ctx, &store.ReportRow{Tenant: "acme", Kind: store.ReportMonthly, Month: "2026-10", From: t0.AddDate(0, -1, 0), To: t0, Lang: "ja", CreatedAt: t0},
		store.ReportFiles{PDF: []byte("%PDF"), HTML: []byte("<html>"), JSON: []byte("{}")})
	must(t, err)
	must(t, s.MarkRun(ctx, t0, t0.Add(time.Hour)))
	fin := t0.Add(time.Second)
	must(t, s.Write(ctx, func(tx incident.Tx) error {
		return tx.InsertAction(ctx, &incident.Action{Kind: "action", Time: t0, Check: "web1/http", Host: "web1", Incident: in.ID, Problem: "p1", Step: 1,
			What: "restart nginx", Trigger: "manual", Who: "hanako", DryRun: true, FinishedAt: &fin, Verified: "ok"})
	}))
	must(t, s.EnrollAgent(ctx, "web1", "acme", dig("agent"), false))
	must(t, s.SavePush(ctx, "web1/backup", check.Result{Status: check.OK, Output: "done", Time: t0}, t0))
	return in.ID
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// testIncidentOutbox covers the durable cursor, the incident with its
// timeline, the outbox FIFO with its dedup, deliveries and escalations,
// across a reopening.
func testIncidentOutbox(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	if c, err := s.Cursor(ctx, "incidents"); err != nil || c != 0 {
		t.Fatalf("fresh cursor %d %v", c, err)
	}
	id := Fill(t, s)
	s.Close()
	s = open(t)
	evs, err := s.EventsAfter(ctx, 0, 10)
	if err != nil || len(evs) != 3 {
		t.Fatalf("events %+v %v", evs, err)
	}
	if c, _ := s.Cursor(ctx, "incidents"); c != evs[2].ID {
		t.Fatalf("cursor %d, want %d", c, evs[2].ID)
	}
	in, err := s.Incident(ctx, id)
	if err != nil || in.Title != "web1/http CRITICAL" || len(in.Timeline) != 1 || in.EscLevel != -1 || in.AckedAt != nil {
		t.Fatalf("incident %+v %v", in, err)
	}
	if ins, _ := s.Incidents(ctx, incident.Query{Text: "CRIT", Tenant: "acme"}); len(ins) != 1 {
		t.Fatalf("text search: %d incidents", len(ins))
	}
	// The same dedup key queues nothing; a new one is the head of the FIFO.
	dup := &incident.Notification{IncidentID: id, Channel: "mail", Kind: "problem", NextAt: time.Now(), CreatedAt: time.Now(), Payload: []byte("{}"), Dedup: "problem/1/mail/taro"}
	fresh := &incident.Notification{IncidentID: id, Channel: "mail", Kind: "reminder", NextAt: time.Now(), CreatedAt: time.Now(), Payload: []byte("{}"), Dedup: "reminder/1"}
	esc := time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC)
	must(t, s.Write(ctx, func(tx incident.Tx) error {
		if ok, err := tx.Enqueue(ctx, dup); err != nil || ok {
			t.Errorf("duplicate enqueued: %v %v", ok, err)
		}
		if ok, err := tx.Enqueue(ctx, fresh); err != nil || !ok || fresh.ID == 0 {
			t.Errorf("fresh not enqueued: %v %v %d", ok, err, fresh.ID)
		}
		in, err := tx.Incident(ctx, id)
		if err != nil {
			return err
		}
		in.EscLevel, in.EscNextAt = 0, &esc
		return tx.UpdateIncident(ctx, in)
	}))
	head, err := s.NextNotification(ctx, "mail")
	if err != nil || head == nil || head.ID != fresh.ID || string(head.Payload) != "{}" {
		t.Fatalf("head %+v %v", head, err)
	}
	if chs, _ := s.PendingChannels(ctx); len(chs) != 1 || chs[0] != "mail" {
		t.Fatalf("pending channels %v", chs)
	}
	if due, _ := s.DueEscalations(ctx, esc); len(due) != 1 || due[0].ID != id {
		t.Fatalf("due escalations %+v", due)
	}
	if due, _ := s.DueEscalations(ctx, esc.Add(-time.Second)); len(due) != 0 {
		t.Fatalf("escalation due early: %+v", due)
	}
	all, _ := s.Notifications(ctx, id, "", 10)
	if len(all) != 2 || all[1].Status != incident.NotifyDelivered || all[1].DeliveredAt != nil && all[1].DeliveredAt.IsZero() {
		t.Fatalf("notifications %+v", all)
	}
	if ds, _ := s.Deliveries(ctx, all[1].ID); len(ds) != 1 || !ds[0].OK || ds[0].Duration != 0.25 {
		t.Fatalf("deliveries %+v", ds)
	}
	var targets []incident.Notification
	must(t, s.Write(ctx, func(tx incident.Tx) (err error) { targets, err = tx.NotifiedTargets(ctx, id); return err }))
	if len(targets) != 2 || targets[0].Contact != "taro" || targets[1].Contact != "" { // problem and reminder rows count
		t.Fatalf("notified targets %+v", targets)
	}
}

// testEverythingElse reads back what Fill wrote through the other stores'
// methods: agents, pushes, maintenance, runbooks, reports, actions.
func testEverythingElse(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	Fill(t, s)
	t0 := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	if toks, _ := s.AgentTokens(ctx); len(toks["web1"]) != 32 {
		t.Fatalf("agent tokens %v", toks)
	}
	if err := s.EnrollAgent(ctx, "web1", "acme", dig("again"), false); err == nil {
		t.Fatal("second enrolment accepted")
	}
	must(t, s.StoreAgentBatch(ctx, "web1", 7, 2, 3, t0.Add(time.Minute)))
	must(t, s.StoreAgentBatch(ctx, "web1", 5, 1, 0, t0))
	must(t, s.SetAgentSeen(ctx, "web1", t0, "v1"))
	hosts, _ := s.AgentHosts(ctx)
	if len(hosts) != 1 || hosts[0].LastSeq != 7 || hosts[0].DroppedResults != 3 || !hosts[0].LastSeen.Equal(t0.Add(time.Minute)) {
		t.Fatalf("agent hosts %+v", hosts)
	}
	if ps, _ := s.Pushes(ctx); len(ps) != 1 {
		t.Fatalf("pushes %+v", ps)
	}
	if ms, _ := s.Maintenances(ctx); len(ms) != 1 {
		t.Fatalf("maintenances %+v", ms)
	}
	if v, _ := s.SaveRunbook(ctx, "http", "# v2", "taro"); v != 2 {
		t.Fatalf("runbook version %d", v)
	}
	if rb, _ := s.LatestRunbooks(ctx); len(rb) != 1 || rb[0].Version != 2 {
		t.Fatalf("latest runbooks %+v", rb)
	}
	created, err := s.SaveReport(ctx, &store.ReportRow{Tenant: "acme", Kind: store.ReportMonthly, Month: "2026-10", Lang: "ja", From: t0, To: t0, CreatedAt: t0},
		store.ReportFiles{PDF: []byte("x"), HTML: []byte("x"), JSON: []byte("x")})
	if err != nil || created {
		t.Fatalf("monthly report stored twice: %v %v", created, err)
	}
	acts, err := s.LoadActions(ctx, t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil || len(acts) != 1 || !acts[0].DryRun || acts[0].FinishedAt == nil {
		t.Fatalf("actions %+v %v", acts, err)
	}
	if runs, _ := s.ServerRuns(ctx, t0.Add(-time.Hour), t0.Add(2*time.Hour)); len(runs) != 1 {
		t.Fatalf("server runs %+v", runs)
	}
}
