package agentapi

import (
	"context"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/wire"
)

// delivery is whether a host's batches are being stored: an agent that
// reaches the server while its data is refused must not look healthy.
type delivery struct {
	stored       time.Time // last batch stored (or empty batch accepted)
	refusedSince time.Time // first batch not stored since then; zero if none
	refused      int
	reason       string
}

// noteStored records a stored batch of host.
func (a *API) noteStored(host string) { a.rec.noteStored(host, a.now()) }

// noteRefused records a batch of host that was not stored, and why.
func (a *API) noteRefused(host, reason string) { a.rec.noteRefused(host, reason, a.now()) }

func (rec *Record) noteStored(host string, now time.Time) {
	rec.mu.Lock()
	rec.delivery[host] = delivery{stored: now}
	rec.mu.Unlock()
}

func (rec *Record) noteRefused(host, reason string, now time.Time) {
	rec.mu.Lock()
	d := rec.delivery[host]
	if d.refused == 0 {
		d.refusedSince = now
	}
	d.refused++
	d.reason = cut(reason, 300)
	rec.delivery[host] = d
	rec.mu.Unlock()
}

// AgentDelivery implements check.AgentDelivery.
func (rec *Record) AgentDelivery(host string) check.Delivery {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	d := rec.delivery[host]
	return check.Delivery{Stored: d.stored, Since: rec.started, RefusedSince: d.refusedSince, Refused: d.refused, Reason: d.reason}
}

// resync brings a host's stored Seq back into the agent's numbering: it
// must lie between what the agent saw acknowledged and the last Seq it
// handed out. Outside that range the server's record is wrong (the agent's
// state was reset, the server's data restored, or a batch was forged with
// the host's token) and every later batch would be taken for a replay or
// refused: the server adopts the agent's acknowledged Seq.
func (a *API) resync(ctx context.Context, host string, sp *wire.SpoolState) {
	if sp == nil || sp.Acked > sp.Last || sp.Last > wire.MaxSeq {
		return
	}
	l := a.hostLock(host)
	l.Lock()
	defer l.Unlock()
	a.mu.Lock()
	stored := a.seq[host]
	a.mu.Unlock()
	if stored >= sp.Acked && stored <= sp.Last {
		return
	}
	if err := a.hosts.ResetAgentSeq(ctx, host, sp.Acked); err != nil {
		a.log.Error("agentapi: re-synchronise batch seq", "host", host, "err", err)
		return
	}
	a.mu.Lock()
	a.seq[host] = sp.Acked
	a.mu.Unlock()
	a.m.resyncs.Inc()
	a.log.Warn("agent batch seq re-synchronised: the server's record was outside the agent's numbering",
		"host", host, "server_seq", stored, "agent_acked", sp.Acked, "agent_last", sp.Last)
}
