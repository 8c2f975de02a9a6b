package cloudwatchcheck

//go:generate go run ../../tools/sdkwrap -type cloudwatchClient -new newCloudWatch github.com/aws/aws-sdk-go-v2/service/cloudwatch GetMetricData

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

// MaxQueries is GetMetricData's limit of queries per call.
const MaxQueries = 500

// timeNow is the batcher's clock (tests move it).
var timeNow = time.Now

// query is one metric statistic a check reads.
type query struct {
	Namespace  string
	Metric     string
	Dimensions map[string]string
	Statistic  string
}

func (q query) key() string {
	dims := make([]string, 0, len(q.Dimensions))
	for k, v := range q.Dimensions {
		dims = append(dims, k+"="+v)
	}
	sort.Strings(dims)
	return q.Namespace + "|" + q.Metric + "|" + q.Statistic + "|" + strings.Join(dims, ",")
}

// point is a query's latest datapoint, as of one fetch.
type point struct {
	value     float64
	at        time.Time // the datapoint's timestamp
	ok        bool      // a datapoint was found in the lookback window
	err       error
	fetchedAt time.Time
}

type entry struct {
	q        query
	lastUsed time.Time
	point
}

// batchKey groups the checks whose queries share calls: same account,
// region and endpoint (as written) and the same period.
type batchKey struct {
	ref    cloudaws.Ref
	period time.Duration
}

// batcher serves the latest datapoints of every query of its group from a
// cache refreshed by batched GetMetricData calls: at most one call per
// MaxQueries queries each period, however many checks read them. Checks
// register their query when built, so that the first refresh already
// covers all of them.
type batcher struct {
	hub    *cloudaws.Hub
	key    batchKey
	ttl    time.Duration // how long a datapoint is fresh: the period
	errTTL time.Duration // how long a failed refresh is reported before retrying

	mu       sync.Mutex
	entries  map[string]*entry
	fetching chan struct{} // closed when the running refresh ends
}

func batcherFor(h *cloudaws.Hub, k batchKey) *batcher {
	return cloudaws.Shared(h, k, func() *batcher {
		return &batcher{hub: h, key: k, ttl: k.period, errTTL: min(k.period, 30*time.Second), entries: map[string]*entry{}}
	})
}

// register adds a query to the group's refreshes.
func (b *batcher) register(q query) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := q.key()
	if e, ok := b.entries[k]; ok {
		e.lastUsed = timeNow()
		return
	}
	b.entries[k] = &entry{q: q, lastUsed: timeNow()}
}

// get returns q's latest datapoint, refreshing the group if it is stale.
func (b *batcher) get(ctx context.Context, q query) (point, error) {
	k := q.key()
	for {
		b.mu.Lock()
		e, ok := b.entries[k]
		if !ok {
			e = &entry{q: q}
			b.entries[k] = e
		}
		now := timeNow()
		e.lastUsed = now
		if b.fresh(e, now) {
			p := e.point
			b.mu.Unlock()
			return p, p.err
		}
		wait := b.fetching
		if wait == nil {
			wait = make(chan struct{})
			b.fetching = wait
			batch := b.stale(now)
			go b.refresh(context.WithoutCancel(ctx), batch, wait)
		}
		b.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return point{}, ctx.Err()
		}
		b.mu.Lock()
		p, fetched := e.point, !e.fetchedAt.IsZero()
		b.mu.Unlock()
		if fetched && (p.err != nil || timeNow().Sub(p.fetchedAt) < b.ttl) {
			return p, p.err
		}
	}
}

func (b *batcher) fresh(e *entry, now time.Time) bool {
	if e.fetchedAt.IsZero() {
		return false
	}
	age := now.Sub(e.fetchedAt)
	if e.err != nil {
		return age < b.errTTL
	}
	return age < b.ttl
}

// stale picks the queries to refresh: those past half their freshness (so
// that the group stays on one schedule), dropping queries no check has
// read for three periods (removed checks).
func (b *batcher) stale(now time.Time) []*entry {
	var out []*entry
	for k, e := range b.entries {
		if now.Sub(e.lastUsed) > 3*b.ttl+time.Minute {
			delete(b.entries, k)
			continue
		}
		if e.fetchedAt.IsZero() || e.err != nil || now.Sub(e.fetchedAt) >= b.ttl/2 {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].q.key() < out[j].q.key() })
	return out
}

// refresh fetches batch in calls of up to MaxQueries queries.
func (b *batcher) refresh(ctx context.Context, batch []*entry, done chan struct{}) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	results := make([]point, len(batch))
	for start := 0; start < len(batch); start += MaxQueries {
		end := min(start+MaxQueries, len(batch))
		b.fetch(ctx, batch[start:end], results[start:end])
	}
	b.mu.Lock()
	for i, e := range batch {
		e.point = results[i]
	}
	b.fetching = nil
	b.mu.Unlock()
	close(done)
}

// fetch runs one GetMetricData call (following NextToken) for up to
// MaxQueries entries and fills out.
func (b *batcher) fetch(ctx context.Context, batch []*entry, out []point) {
	now := timeNow()
	fail := func(err error) {
		for i := range out {
			out[i] = point{err: err, fetchedAt: now}
		}
	}
	cw, err := cloudaws.Client(ctx, b.hub, b.key.ref, "cloudwatch", newCloudWatch)
	if err != nil {
		fail(err)
		return
	}
	end := now.Truncate(b.key.period) // complete periods only
	if b.key.period > time.Hour {
		end = now.Truncate(time.Minute)
	}
	in := &cloudwatch.GetMetricDataInput{
		StartTime: sdkaws.Time(end.Add(-lookback(b.key.period))), EndTime: sdkaws.Time(end),
		ScanBy: types.ScanByTimestampDescending, MetricDataQueries: make([]types.MetricDataQuery, len(batch)),
	}
	for i, e := range batch {
		in.MetricDataQueries[i] = metricQuery(fmt.Sprintf("q%d", i), e.q, b.key.period)
	}
	b.hub.CountRequested(b.key.ref.Account, "CloudWatch", "GetMetricData", len(batch))
	for i := range out {
		out[i] = point{fetchedAt: now}
	}
	p := cloudwatch.NewGetMetricDataPaginator(cw, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			fail(err)
			return
		}
		for _, r := range page.MetricDataResults {
			apply(r, out)
		}
	}
}

func metricQuery(id string, q query, period time.Duration) types.MetricDataQuery {
	dims := make([]types.Dimension, 0, len(q.Dimensions))
	for k, v := range q.Dimensions {
		dims = append(dims, types.Dimension{Name: sdkaws.String(k), Value: sdkaws.String(v)})
	}
	sort.Slice(dims, func(i, j int) bool { return *dims[i].Name < *dims[j].Name })
	return types.MetricDataQuery{
		Id:         sdkaws.String(id),
		ReturnData: sdkaws.Bool(true),
		MetricStat: &types.MetricStat{
			Metric: &types.Metric{Namespace: sdkaws.String(q.Namespace), MetricName: sdkaws.String(q.Metric), Dimensions: dims},
			Period: sdkaws.Int32(int32(period / time.Second)),
			Stat:   sdkaws.String(q.Statistic),
		},
	}
}

// apply takes the newest datapoint of one result (results come newest
// first; pages may repeat an id with older points).
func apply(r types.MetricDataResult, out []point) {
	var i int
	if _, err := fmt.Sscanf(sdkaws.ToString(r.Id), "q%d", &i); err != nil || i < 0 || i >= len(out) {
		return
	}
	if r.StatusCode == types.StatusCodeForbidden || r.StatusCode == types.StatusCodeInternalError {
		msg := string(r.StatusCode)
		for _, m := range r.Messages {
			msg += ": " + sdkaws.ToString(m.Value)
		}
		out[i].err = errors.New("CloudWatch: " + msg)
		return
	}
	for j, ts := range r.Timestamps {
		if j >= len(r.Values) {
			break
		}
		if !out[i].ok || ts.After(out[i].at) {
			out[i].value, out[i].at, out[i].ok = r.Values[j], ts, true
		}
	}
}

// lookback is how far back a query looks for its latest datapoint: three
// periods (metrics published late or sparsely), at least 15 minutes.
func lookback(period time.Duration) time.Duration {
	return max(3*period, 15*time.Minute)
}
