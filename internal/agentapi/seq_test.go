package agentapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/wire"
)

// A batch number near the top of uint64 (or far ahead of the stored one)
// is refused: it would otherwise become the host's Seq and every later
// batch of the real agent would be taken for a replay.
func TestForgedSeqRefused(t *testing.T) {
	e := newEnv(t, "")
	res := []wire.Result{{Check: "nginx", Status: check.OK, Output: "up", Time: nowMS()}}
	for _, seq := range []uint64{9223372036854775806, wire.MaxSeq + 1, 1 + wire.MaxSeqAhead + 1} {
		code, ack, body := e.sendBatch(tokWeb1, wire.Batch{Seq: seq, Results: res})
		if code != 409 && code != 400 {
			t.Fatalf("seq %d: %d %+v %s, want it refused", seq, code, ack, body)
		}
	}
	if code, ack, body := e.sendBatch(tokWeb1, wire.Batch{Seq: 1, Results: res}); code != 200 || ack.Seq != 1 {
		t.Fatalf("the real agent's first batch: %d %+v %s", code, ack, body)
	}
}

// A forger with the host's token moved the Seq ahead (within the bound):
// the real agent says hello with its spool position and the server
// re-synchronises, so its batches are stored again.
func TestAgentResynchronises(t *testing.T) {
	e := newEnv(t, "")
	res := func(st check.Status) []wire.Result {
		return []wire.Result{{Check: "nginx", Status: st, Output: "x", Time: nowMS()}}
	}
	if code, _, body := e.sendBatch(tokWeb1, wire.Batch{Seq: 1, Results: res(check.OK)}); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if code, _, body := e.sendBatch(tokWeb1, wire.Batch{Seq: 1000, Samples: []wire.Sample{{Name: "x", Time: nowMS()}}}); code != 200 {
		t.Fatalf("forged: %d %s", code, body)
	}
	// The real agent's next batch is taken for a replay (ack 1000 > its own 2).
	_, ack, _ := e.sendBatch(tokWeb1, wire.Batch{Seq: 2, Results: res(check.Critical)})
	if ack.Seq != 1000 {
		t.Fatalf("ack %+v", ack)
	}
	// Hello with the agent's spool position re-synchronises.
	code, body := e.do(req{method: "POST", path: "/api/v1/agent/hello", token: tokWeb1,
		body: mustJSON(wire.Hello{Version: wire.Version, Agent: "t", Spool: &wire.SpoolState{Acked: 1, Last: 2}})})
	if code != 200 {
		t.Fatalf("hello: %d %s", code, body)
	}
	if !strings.Contains(e.logs.String(), "re-synchronised") {
		t.Errorf("the re-synchronisation is not logged:\n%s", e.logs.String())
	}
	code, ack, body = e.sendBatch(tokWeb1, wire.Batch{Seq: 2, Results: res(check.Critical)})
	if code != 200 || ack.Seq != 2 {
		t.Fatalf("after hello: %d %+v %s", code, ack, body)
	}
	if v, _ := e.eng.Get("web1/nginx"); v.Status != check.Critical {
		t.Fatalf("the real agent's result was not stored: %+v", v)
	}
	// Persisted: a restart keeps the re-synchronised Seq.
	dir := e.dir
	e.stop()
	e2 := newEnv(t, dir)
	if code, ack, _ := e2.sendBatch(tokWeb1, wire.Batch{Seq: 3, Results: res(check.OK)}); code != 200 || ack.Seq != 3 {
		t.Fatalf("after restart: %d %+v", code, ack)
	}
}

// A host whose batches are not stored is a problem on its heartbeat check,
// even though the agent keeps reaching the server.
func TestRefusedBatchesAreAProblem(t *testing.T) {
	e := newEnv(t, "")
	c, _ := e.check("web1/agent")
	ck, err := c.Spec.New(check.Env{Passive: e.api.Passive()})
	if err != nil {
		t.Fatal(err)
	}
	res := []wire.Result{{Check: "nginx", Status: check.OK, Output: "up", Time: nowMS()}}
	e.sendBatch(tokWeb1, wire.Batch{Seq: 50, Results: res})
	if r := ck.Check(context.Background()); r.Status != check.OK {
		t.Fatalf("stored: %+v", r)
	}
	// The agent keeps sending an already stored Seq: nothing is stored.
	for i := 0; i < 3; i++ {
		e.sendBatch(tokWeb1, wire.Batch{Seq: 7, Results: res})
	}
	e.api.rec.mu.Lock()
	d := e.api.rec.delivery["web1"]
	d.refusedSince = d.refusedSince.Add(-10 * time.Minute)
	e.api.rec.delivery["web1"] = d
	e.api.rec.mu.Unlock()
	r := ck.Check(context.Background())
	if r.Status != check.Critical || !strings.Contains(r.Output, "not stored") {
		t.Fatalf("refused for 10 minutes: %+v", r)
	}
	// A stored batch clears it.
	e.sendBatch(tokWeb1, wire.Batch{Seq: 51, Results: res})
	if r := ck.Check(context.Background()); r.Status != check.OK {
		t.Fatalf("stored again: %+v", r)
	}
	// Contact without any batch stored for longer than the ttl: a problem too.
	e.api.rec.mu.Lock()
	d = e.api.rec.delivery["web1"]
	d.stored = time.Now().Add(-time.Hour)
	e.api.rec.delivery["web1"] = d
	e.api.rec.mu.Unlock()
	e.do(req{method: "GET", path: "/api/v1/agent/poll?wait=0s", token: tokWeb1})
	if r := ck.Check(context.Background()); r.Status != check.Critical || !strings.Contains(r.Output, "no batch") {
		t.Fatalf("polling without batches: %+v", r)
	}
}

// An agent may not write the server's own series (another check's perfdata).
func TestReservedMetricNames(t *testing.T) {
	e := newEnv(t, "")
	code, ack, body := e.sendBatch(tokWeb1, wire.Batch{Seq: 1, Samples: []wire.Sample{
		{Name: "mamori_check_perf", Labels: map[string]string{"check": "db1/pg", "label": "time"}, Time: nowMS(), Value: 99},
		{Name: "MAMORI_checks", Time: nowMS(), Value: 1},
		{Name: "node_load1", Time: nowMS(), Value: 1},
	}})
	if code != 200 || ack.Rejected != 2 || !strings.Contains(strings.Join(ack.Reasons, ";"), "server's own") {
		t.Fatalf("%d %+v %s", code, ack, body)
	}
	if n := e.sink.count("web1"); n != 1 {
		t.Fatalf("%d samples stored, want only node_load1", n)
	}
}
