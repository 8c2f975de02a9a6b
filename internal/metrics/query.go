package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
)

// Result is the outcome of a PromQL query. Value is a promql.Matrix,
// promql.Vector, promql.Scalar or promql.String.
type Result struct {
	Value    parser.Value
	Warnings []string
}

// BadQueryError wraps errors in the query itself (syntax, types, params),
// as opposed to errors while evaluating it.
type BadQueryError struct{ Err error }

func (e *BadQueryError) Error() string { return e.Err.Error() }
func (e *BadQueryError) Unwrap() error { return e.Err }

// Query evaluates an instant query at t. With tenant != "", only series
// labelled tenant=<tenant> are read.
func (s *Store) Query(ctx context.Context, q string, t time.Time, tenant string) (*Result, error) {
	qs, err := s.restrict(q, tenant)
	if err != nil {
		return nil, err
	}
	qry, err := s.engine.NewInstantQuery(ctx, s.queryable(tenant), nil, qs, t)
	if err != nil {
		return nil, &BadQueryError{err}
	}
	defer s.lockRO()()
	return run(ctx, qry)
}

// QueryRange evaluates a range query from start to end every step. With
// tenant != "", only series labelled tenant=<tenant> are read.
func (s *Store) QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration, tenant string) (*Result, error) {
	if step <= 0 {
		return nil, &BadQueryError{errors.New("step must be positive")}
	}
	if end.Before(start) {
		return nil, &BadQueryError{errors.New("end must not be before start")}
	}
	qs, err := s.restrict(q, tenant)
	if err != nil {
		return nil, err
	}
	qry, err := s.engine.NewRangeQuery(ctx, s.queryable(tenant), nil, qs, start, end, step)
	if err != nil {
		return nil, &BadQueryError{err}
	}
	defer s.lockRO()()
	return run(ctx, qry)
}

func run(ctx context.Context, qry promql.Query) (*Result, error) {
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		return nil, res.Err
	}
	out := &Result{Value: res.Value}
	// The result's memory belongs to the query until Close: copy what we keep.
	switch v := res.Value.(type) {
	case promql.Matrix:
		m := make(promql.Matrix, len(v))
		for i, sr := range v {
			m[i] = promql.Series{Metric: sr.Metric, Floats: append([]promql.FPoint(nil), sr.Floats...), Histograms: append([]promql.HPoint(nil), sr.Histograms...)}
		}
		out.Value = m
	case promql.Vector:
		out.Value = append(promql.Vector{}, v...)
	}
	warns, _ := res.Warnings.AsStrings("", 10, 10)
	out.Warnings = warns
	return out, nil
}

// restrict parses q and, for a tenant, adds tenant="<tenant>" to every
// vector and matrix selector (subqueries included: they hold selectors).
func (s *Store) restrict(q, tenant string) (string, error) {
	if tenant == "" {
		if _, err := s.parser.ParseExpr(q); err != nil {
			return "", &BadQueryError{err}
		}
		return q, nil
	}
	expr, err := s.parser.ParseExpr(q)
	if err != nil {
		return "", &BadQueryError{err}
	}
	if err := EnforceTenant(expr, tenant); err != nil {
		return "", err
	}
	return expr.String(), nil
}

// EnforceTenant adds the matcher tenant="<tenant>" to every selector of
// expr (as prom-label-proxy does).
func EnforceTenant(expr parser.Expr, tenant string) error {
	m, err := labels.NewMatcher(labels.MatchEqual, TenantLabel, tenant)
	if err != nil {
		return err
	}
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			vs.LabelMatchers = append(vs.LabelMatchers, m)
		}
		return nil
	})
	return nil
}

// queryable reads the whole database, or for a tenant only its series: the
// second line of defence behind EnforceTenant, which also covers reads the
// engine makes by itself (info(), for instance).
func (s *Store) queryable(tenant string) storage.Queryable {
	var base storage.Queryable = s.db
	if s.ro != nil {
		base = s.roQueryable()
	}
	if tenant == "" {
		return base
	}
	m := labels.MustNewMatcher(labels.MatchEqual, TenantLabel, tenant)
	return storage.QueryableFunc(func(mint, maxt int64) (storage.Querier, error) {
		q, err := base.Querier(mint, maxt)
		if err != nil {
			return nil, err
		}
		return tenantQuerier{q, m}, nil
	})
}

type tenantQuerier struct {
	storage.Querier
	m *labels.Matcher
}

func (q tenantQuerier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	return q.Querier.Select(ctx, sortSeries, hints, append(ms[:len(ms):len(ms)], q.m)...)
}

func (q tenantQuerier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return q.Querier.LabelValues(ctx, name, hints, append(ms[:len(ms):len(ms)], q.m)...)
}

func (q tenantQuerier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return q.Querier.LabelNames(ctx, hints, append(ms[:len(ms):len(ms)], q.m)...)
}

// ParseMatchers parses series selectors ({job="x"}, up{a=~"b"}) as the
// match[] parameter of Prometheus' API takes them.
func (s *Store) ParseMatchers(selectors []string) ([][]*labels.Matcher, error) {
	sets, err := s.parser.ParseMetricSelectors(selectors)
	if err != nil {
		return nil, &BadQueryError{err}
	}
	for _, ms := range sets {
		empty := true
		for _, m := range ms {
			if !m.Matches("") {
				empty = false
				break
			}
		}
		if empty {
			return nil, &BadQueryError{errors.New("match[] must contain at least one non-empty matcher")}
		}
	}
	return sets, nil
}

func timeRange(start, end time.Time) (int64, int64) {
	mint, maxt := int64(math.MinInt64), int64(math.MaxInt64)
	if !start.IsZero() {
		mint = start.UnixMilli()
	}
	if !end.IsZero() {
		maxt = end.UnixMilli()
	}
	return mint, maxt
}

// LabelNames lists label names of series between start and end (zero =
// unbounded) matching any of the matcher sets (none = all series).
func (s *Store) LabelNames(ctx context.Context, start, end time.Time, sets [][]*labels.Matcher, tenant string) ([]string, error) {
	return s.labelQuery(ctx, start, end, sets, tenant, func(q storage.Querier, ms []*labels.Matcher) ([]string, error) {
		v, _, err := q.LabelNames(ctx, nil, ms...)
		return v, err
	})
}

// LabelValues lists values of label name, as LabelNames.
func (s *Store) LabelValues(ctx context.Context, name string, start, end time.Time, sets [][]*labels.Matcher, tenant string) ([]string, error) {
	return s.labelQuery(ctx, start, end, sets, tenant, func(q storage.Querier, ms []*labels.Matcher) ([]string, error) {
		v, _, err := q.LabelValues(ctx, name, nil, ms...)
		return v, err
	})
}

func (s *Store) labelQuery(ctx context.Context, start, end time.Time, sets [][]*labels.Matcher, tenant string, f func(storage.Querier, []*labels.Matcher) ([]string, error)) ([]string, error) {
	mint, maxt := timeRange(start, end)
	defer s.lockRO()()
	q, err := s.queryable(tenant).Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	if len(sets) == 0 {
		sets = [][]*labels.Matcher{nil}
	}
	seen := map[string]struct{}{}
	out := []string{}
	for _, ms := range sets {
		vs, err := f(q, ms)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			if _, ok := seen[v]; !ok {
				seen[v] = struct{}{}
				out = append(out, v)
			}
		}
	}
	sortStrings(out)
	return out, nil
}

// Series lists the label sets of series between start and end (zero =
// unbounded) matching any of the matcher sets (at least one).
func (s *Store) Series(ctx context.Context, start, end time.Time, sets [][]*labels.Matcher, tenant string, limit int) ([]labels.Labels, error) {
	if len(sets) == 0 {
		return nil, &BadQueryError{errors.New("no match[] parameter provided")}
	}
	mint, maxt := timeRange(start, end)
	defer s.lockRO()()
	q, err := s.queryable(tenant).Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	hints := &storage.SelectHints{Start: mint, End: maxt, Func: "series"}
	var sets2 []storage.SeriesSet
	for _, ms := range sets {
		sets2 = append(sets2, q.Select(ctx, true, hints, ms...))
	}
	set := storage.NewMergeSeriesSet(sets2, 0, storage.ChainedSeriesMerge)
	var out []labels.Labels
	for set.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out = append(out, set.At().Labels().Copy())
		if limit > 0 && len(out) > limit {
			break
		}
	}
	if err := set.Err(); err != nil {
		return nil, fmt.Errorf("metrics: series: %w", err)
	}
	return out, nil
}

func sortStrings(s []string) { slices.Sort(s) }
