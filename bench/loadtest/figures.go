package main

import (
	"time"
)

// figures computes the result from the recorder and the readings.
func figures(o options, h *runRecorder, res *result, rd *readings) {
	win := rd.w1.Sub(rd.w0).Seconds()
	res.Window = win
	res.ExpectedPerSec = float64(o.n) / o.interval.Seconds()
	res.Persisted = rd.p1 - rd.p0
	res.PersistedPerSec = float64(res.Persisted) / win
	for i := range h.all {
		res.ExpectedRuns += slotsIn(rd.t0, rd.t1, o.interval, h.all[i].phase)
	}
	res.ExecutedRuns = int64(len(h.winLags))
	res.Missed = res.ExpectedRuns - res.ExecutedRuns
	res.Status = map[string]int64{}
	for i, name := range []string{"ok", "warning", "critical", "unknown"} {
		res.Status[name] = h.status[i].Load()
	}
	res.CommitErrors = h.commitErrs.Load()
	res.NegativeLag = h.negLag.Load()
	cpuFigures(o, res, rd, win)
	lagFigures(h, res, rd)
	coldFigures(o, h, res, rd)
	commitFigures(h, res, win)
}

// cpuFigures: CPU of mamori, of the target and of the machine; memory.
func cpuFigures(o options, res *result, rd *readings, win float64) {
	cpu := (rd.c1 - rd.c0).Seconds()
	res.CPUSeconds = cpu
	res.CPUPercentCore = 100 * cpu / win
	tcpu := (rd.tc1 - rd.tc0).Seconds()
	res.TargetCPUSeconds = tcpu
	res.TargetCPUPercent = 100 * tcpu / win
	if res.Persisted > 0 {
		res.CPUMicrosPerCheck = cpu * 1e6 / float64(res.Persisted)
		res.CPUSecondsPer1000 = cpu * 1000 / float64(res.Persisted)
		res.TargetMicrosPerCheck = tcpu * 1e6 / float64(res.Persisted)
	}
	res.MachineBusyCores = (rd.m1.busy - rd.m0.busy) / win
	res.MachineStealPercent = 100 * (rd.m1.steal - rd.m0.steal) / (rd.m1.total - rd.m0.total)
	res.OtherCores = res.MachineBusyCores - (cpu+tcpu)/win
	res.CPUPressurePercent = 100 * (rd.psi1 - rd.psi0).Seconds() / win
	dd := rd.dur1.minus(rd.dur0)
	res.CheckDurP50, _ = dd.quantile(.5)
	res.CheckDurP99, _ = dd.quantile(.99)
	res.CheckDurP50 *= 1000
	res.CheckDurP99 *= 1000
	res.ListenOverflows = rd.net1["ListenOverflows"] - rd.net0["ListenOverflows"]
	res.ListenDrops = rd.net1["ListenDrops"] - rd.net0["ListenDrops"]
	res.GCCycles = rd.ms1.NumGC - rd.ms0.NumGC
	res.HeapInuse = int64(rd.ms1.HeapInuse)
	res.GoSys = int64(rd.ms1.Sys)
	res.BytesPerCheck = float64(res.RSS) / float64(o.n)
	res.BytesPerCheckOverBase = float64(res.RSS-res.RSSAfterParse) / float64(o.n)
}

// lagFigures: the scheduler lag, from the recorder and from mamori's own
// histogram.
func lagFigures(h *runRecorder, res *result, rd *readings) {
	lq := quantiles(h.winLags, .5, .9, .99, .999, 1)
	res.Lag = lagStats{P50: ms(lq[0]), P90: ms(lq[1]), P99: ms(lq[2]), P999: ms(lq[3]), Max: ms(lq[4]), N: len(h.winLags)}
	for _, l := range h.winLags {
		if l > 250*time.Millisecond {
			res.Lag.Over250ms++
		}
		if l > time.Second {
			res.Lag.Over1s++
		}
	}
	hd := rd.lag1.minus(rd.lag0)
	res.LagHisto.N = hd.count
	v, _ := hd.quantile(.5)
	res.LagHisto.P50 = v * 1000
	v, over := hd.quantile(.99)
	res.LagHisto.P99, res.LagHisto.P99OverTop = v*1000, over
	if hd.count > 0 {
		res.LagHisto.Mean = hd.sum / float64(hd.count) * 1000
	}
	for i, b := range hd.bounds {
		res.LagHisto.Buckets = append(res.LagHisto.Buckets, bucket{LE: b, Count: hd.cum[i]})
	}
}

// coldFigures: the first runs after the start, and how evenly they came
// (first results per second over the first interval).
func coldFigures(o options, h *runRecorder, res *result, rd *readings) {
	cq := quantiles(h.coldLags, .5, .99, 1)
	res.Cold.LagP50, res.Cold.LagP99, res.Cold.LagMax = ms(cq[0]), ms(cq[1]), ms(cq[2])
	res.Cold.FirstRuns = h.firstCount.Load()
	if at := h.allDoneAt.Load(); at > 0 {
		res.Cold.AllRanSeconds = float64(at-rd.tStart.UnixNano()) / 1e9
		res.Cold.AllRan = true
	}
	bins := make([]int, int(o.interval/time.Second)+1)
	for i := range h.all {
		if d := h.all[i].firstDone.Load(); d > 0 {
			if b := int((d - rd.tStart.UnixNano()) / int64(time.Second)); b >= 0 && b < len(bins) {
				bins[b]++
			}
		}
	}
	peak := 0
	for _, c := range bins[:len(bins)-1] {
		peak = max(peak, c)
	}
	res.Cold.MeanPerSec = float64(o.n) / o.interval.Seconds()
	res.Cold.PeakPerSec = float64(peak)
}

// commitFigures: the store's commits in the window.
func commitFigures(h *runRecorder, res *result, win float64) {
	var durs []time.Duration
	rows := 0
	var busy time.Duration
	for _, c := range h.commits {
		durs = append(durs, c.dur)
		rows += c.rows
		busy += c.dur
	}
	cm := quantiles(durs, .5, .99, 1)
	res.Commit = commitStats{N: len(durs), PerSec: float64(len(durs)) / win, P50: ms(cm[0]), P99: ms(cm[1]), Max: ms(cm[2]),
		BusyPercent: 100 * busy.Seconds() / win}
	if len(durs) > 0 {
		res.Commit.RowsPerCommit = float64(rows) / float64(len(durs))
	}
}
