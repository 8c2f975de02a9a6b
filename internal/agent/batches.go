package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/wire"
)

// ---- batches ----

// cutBatch moves the pending results (and samples, if any) into the spool
// as one or more batches. An empty batch is cut only when heartbeat is set.
func (r *Runtime) cutBatch(samples []wire.Sample, heartbeat bool) {
	r.batchMu.Lock()
	defer r.batchMu.Unlock()
	r.mu.Lock()
	results := r.pendRes
	r.pendRes, r.pendBytes = nil, 0
	r.mu.Unlock()
	if len(results) == 0 && len(samples) == 0 && !heartbeat && !r.spool.HasUnreportedDrops() {
		return
	}
	for first := true; first || len(results) > 0 || len(samples) > 0; first = false {
		// Bound one batch: result count and approximate bytes, sample count.
		nr, size := 0, 0
		for nr < len(results) && nr < wire.MaxBatchResults && (nr == 0 || size < batchSoftBytes) {
			size += len(results[nr].Output) + len(results[nr].Long) + 64*len(results[nr].Perf) + 128
			nr++
		}
		ns := min(len(samples), wire.MaxBatchSamples)
		b := wire.Batch{Results: results[:nr], Samples: samples[:ns]}
		results, samples = results[nr:], samples[ns:]
		seq, drop, err := r.spool.Append(func(seq, dr, ds uint64) ([]byte, uint32, uint32, error) {
			b.Seq, b.DroppedResults, b.DroppedSamples = seq, dr, ds
			b.Sent = time.Now().UnixMilli()
			gz, err := encodeBatch(&b)
			return gz, uint32(len(b.Results)), uint32(len(b.Samples)), err
		})
		if err != nil {
			// The disk refuses: these results cannot be kept. Say so.
			r.log.Error("cannot spool a batch: its results and samples are lost", "error", err, "results", len(b.Results), "samples", len(b.Samples))
			continue
		}
		if drop.Batches > 0 {
			r.log.Warn(fmt.Sprintf("spool full (%d bytes): dropped the %d oldest batches (%d results, %d samples); the next batch reports the count", r.cfg.SpoolMaxBytes, drop.Batches, drop.Results, drop.Samples))
		}
		if b.DroppedResults+b.DroppedSamples > 0 {
			r.log.Warn("reporting dropped data to the server", "seq", seq, "dropped_results", b.DroppedResults, "dropped_samples", b.DroppedSamples)
		}
	}
	r.mu.Lock()
	r.lastCut = time.Now()
	r.mu.Unlock()
	r.signal(r.sendNow)
}

func (r *Runtime) heartbeatEvery() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if hb := time.Duration(r.ac.Heartbeat); hb > 0 {
		return hb
	}
	return DefaultHeartbeat
}

// batchLoop cuts batches: results after a short linger, and an empty
// batch when nothing was sent for a heartbeat period.
func (r *Runtime) batchLoop(ctx context.Context) {
	tick := time.NewTicker(min(time.Second, r.heartbeatEvery()/4))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.resultNow:
			r.mu.Lock()
			big := r.pendBytes >= batchSoftBytes
			r.mu.Unlock()
			if !big && !sleep(ctx, r.opt.Linger) {
				return
			}
			r.cutBatch(nil, false)
		case <-tick.C:
			hb := r.heartbeatEvery()
			r.mu.Lock()
			due := time.Since(r.lastCut) >= hb
			r.mu.Unlock()
			if due {
				// Offline with data waiting: the pending batches are the
				// heartbeat once the server is back; do not pile up empties.
				if n, _ := r.spool.Pending(); n > 0 && r.online.Load() == 2 {
					r.mu.Lock()
					r.lastCut = time.Now()
					r.mu.Unlock()
					continue
				}
				r.cutBatch(nil, true)
			}
		}
	}
}

func (r *Runtime) metricsInterval() time.Duration {
	if r.opt.MetricsInterval != 0 {
		return r.opt.MetricsInterval
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if iv := time.Duration(r.ac.MetricsInterval); iv > 0 {
		return iv
	}
	return DefaultMetricsInterval
}

// CollectOnce collects the metrics once and spools them with the pending
// results (the metrics loop calls it on its interval).
func (r *Runtime) CollectOnce(ctx context.Context) int {
	r.collectMu.Lock()
	defer r.collectMu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	samples := r.coll.Collect(cctx, time.Now())
	if len(r.coll.Errors) > 0 {
		r.log.Debug("some metrics could not be read", "errors", strings.Join(r.coll.Errors, "; "))
	}
	n := len(samples)
	r.cutBatch(samples, false) // spooled (encoded) before the collector reuses its buffer
	return n
}

func (r *Runtime) metricsLoop(ctx context.Context) {
	for {
		iv := r.metricsInterval()
		if iv < 0 {
			select {
			case <-ctx.Done():
				return
			case <-r.metricsNew:
				continue
			}
		}
		// Align on the interval grid, like a scrape.
		wait := time.Until(time.Now().Truncate(iv).Add(iv))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-r.metricsNew:
			t.Stop()
			continue
		case <-t.C:
		}
		r.CollectOnce(ctx)
	}
}

// ---- sending ----

func (r *Runtime) sendLoop(ctx context.Context) {
	bo := &backoff{min: r.opt.MinBackoff, max: r.opt.MaxBackoff}
	for {
		rec, ok, err := r.spool.Oldest()
		if err != nil {
			r.log.Error("cannot read the spool", "error", err)
			if !sleep(ctx, bo.next()) {
				return
			}
			continue
		}
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-r.sendNow:
				continue
			}
		}
		err = r.send(ctx, rec)
		if err == nil {
			bo.reset()
			continue
		}
		if ctx.Err() != nil {
			return
		}
		var he *HTTPError
		if errors.As(err, &he) && he.Permanent() {
			drop, _ := r.spool.Skip(rec.Seq)
			r.log.Error("the server refused a batch for good: it is dropped and counted", "seq", rec.Seq, "error", err, "results", drop.Results, "samples", drop.Samples)
			continue
		}
		d := bo.next()
		if he != nil && he.RetryAfter > 0 {
			// The server (or the poller relaying to it) said when: a
			// relay whose link is back answers within a second.
			d = min(he.RetryAfter, r.opt.MaxBackoff)
		}
		n, b := r.spool.Pending()
		if r.online.Swap(2) != 2 || time.Since(r.warnedAt) > 5*time.Minute {
			r.warnedAt = time.Now()
			r.log.Warn(fmt.Sprintf("server unreachable: spooling (%d batches, %d bytes)", n, b), "error", err, "retry_in", d.Round(time.Millisecond))
		}
		if !sleep(ctx, d) {
			return
		}
	}
}

// sendStopGrace is how long a stop waits for a batch already being sent.
const sendStopGrace = 3 * time.Second

func (r *Runtime) send(ctx context.Context, rec Record) error {
	b, err := decodeBatch(rec.Payload)
	if err != nil {
		// A damaged record cannot be sent; count it and go on.
		drop, _ := r.spool.Skip(rec.Seq)
		r.log.Error("a spooled batch is damaged: dropped and counted", "seq", rec.Seq, "error", err, "results", drop.Results, "samples", drop.Samples)
		return nil
	}
	b.Seq = rec.Seq
	b.Sent = time.Now().UnixMilli()
	gz, err := encodeBatch(b)
	if err != nil {
		return err
	}
	// A stop lets a batch already on its way finish for a moment: cut off
	// after the server stored it, it would be sent again by the next start.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	defer context.AfterFunc(ctx, func() {
		t := time.NewTimer(sendStopGrace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-sctx.Done():
		}
	})()
	ack, err := r.client.SendBatch(sctx, gz)
	var he *HTTPError
	if errors.As(err, &he) && he.Status == http.StatusConflict {
		r.log.Warn("the server's batch numbering differs from this agent's: saying hello to re-synchronise", "seq", rec.Seq, "error", err)
		r.signal(r.helloNow)
		return err
	}
	if err != nil {
		return err
	}
	if last := r.spool.LastSeq(); ack.Seq > last {
		// The server says it stored Seqs this agent never handed out: its
		// record is wrong (this state directory was reset, or a batch was
		// forged with this host's token). The batch was not stored: say
		// hello with the spool's numbering and send it again.
		r.log.Warn("the server is ahead of this agent's batch numbering: saying hello to re-synchronise", "seq", rec.Seq, "server_seq", ack.Seq, "agent_last", last)
		r.signal(r.helloNow)
		return fmt.Errorf("batch %d not stored: the server's seq %d is ahead of this agent's %d (re-synchronising)", rec.Seq, ack.Seq, last)
	}
	if prev := r.online.Swap(1); prev == 2 {
		n, _ := r.spool.Pending()
		r.log.Info(fmt.Sprintf("server reachable again: sending %d spooled batches", n))
	}
	if ack.Seq < rec.Seq {
		r.log.Warn("the server acknowledged an older Seq than it was sent; treating the batch as delivered", "sent", rec.Seq, "acked", ack.Seq)
	}
	if err := r.spool.Ack(max(ack.Seq, rec.Seq)); err != nil {
		r.log.Warn("cannot write the spool index", "error", err)
	}
	if ack.Rejected > 0 {
		r.log.Warn("the server rejected items of a batch", "seq", rec.Seq, "rejected", ack.Rejected, "reasons", strings.Join(ack.Reasons, "; "))
	}
	r.mu.Lock()
	changed := ack.ConfigVersion != "" && (!r.haveAC || ack.ConfigVersion != r.ac.ConfigVersion)
	r.mu.Unlock()
	if changed {
		r.log.Info("the server's config changed: saying hello again", "config_version", ack.ConfigVersion)
		r.signal(r.helloNow)
	}
	return nil
}

// ---- server requests ----

func (r *Runtime) pollLoop(ctx context.Context) {
	bo := &backoff{min: r.opt.MinBackoff, max: r.opt.MaxBackoff}
	var inflight sync.WaitGroup
	defer inflight.Wait()
	for ctx.Err() == nil {
		req, err := r.client.Poll(ctx, r.opt.PollWait)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !sleep(ctx, bo.next()) {
				return
			}
			continue
		}
		bo.reset()
		if req == nil {
			continue
		}
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			r.handle(ctx, req)
		}()
	}
}

// handle answers one request; the answer is retried a few times.
func (r *Runtime) handle(ctx context.Context, req *wire.Request) {
	var resp wire.Response
	switch req.Kind {
	case "action":
		resp = r.runAction(ctx, req)
	case "recheck":
		resp = wire.Response{ID: req.ID}
		if r.sched.RunNow(req.Check) {
			resp.Output = "running " + req.Check + " now; its result follows in the next batch"
		} else {
			resp.ExitCode = -1
			resp.Error = fmt.Sprintf("no check %q on this agent (known: %s)", req.Check, strings.Join(r.checkNames(), ", "))
		}
	case "config":
		r.signal(r.helloNow)
		resp = wire.Response{ID: req.ID, Output: "saying hello again to fetch the config"}
	default:
		resp = wire.Response{ID: req.ID, ExitCode: -1, Error: fmt.Sprintf("unknown request kind %q (this agent knows action, recheck, config)", req.Kind)}
		r.log.Warn("unknown request kind", "kind", req.Kind, "request", req.ID)
	}
	resp.Output = cutString(resp.Output, MaxActionOutput)
	bo := &backoff{min: r.opt.MinBackoff, max: 30 * time.Second}
	for attempt := 0; attempt < 5; attempt++ {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		err := r.client.Respond(rctx, resp)
		cancel()
		if err == nil {
			return
		}
		r.log.Warn("cannot answer a request", "request", req.ID, "error", err)
		var he *HTTPError
		if errors.As(err, &he) && he.Status/100 == 4 {
			return
		}
		if !sleep(ctx, bo.next()) {
			return
		}
	}
}

func (r *Runtime) checkNames() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.checks))
	for n := range r.checks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
