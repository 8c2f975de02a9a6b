package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/report"
	"github.com/mamori/mamori/internal/store"
)

// availCell is one availability figure of a page.
type availCell struct {
	Key     string // 24h, 7d, 30d, month
	Percent *float64
	Down    time.Duration
	NoData  time.Duration // unknown and no-data time
	// Over several checks (the overview) down and no-data time are added
	// up over the checks; shown as durations they read as if the span had
	// more hours than it has, so they are shown as shares of check time.
	DownShare, NoDataShare *float64
}

// maxOverviewChecks bounds the checks the overview computes availability
// over on a page load (cached for overviewAvailTTL).
const (
	maxOverviewChecks = 5000
	overviewAvailTTL  = time.Minute
)

type availCache struct {
	mu sync.Mutex
	m  map[string]cachedAvail
}

type cachedAvail struct {
	at    time.Time
	cells []availCell
}

// availability computes the figures of checks over the last 24 h, 7 d,
// 30 d and the current month (in the reader's zone); nil when the store
// keeps no history or on error (logged).
func (c *Console) availability(ctx context.Context, rc *reqCtx, checks []*config.Check, scope report.Scope, hostCheck string) []availCell {
	hist, ok := c.d.Store.(store.Reports)
	if !ok || len(checks) == 0 {
		return nil
	}
	src := report.Sources{Config: c.d.Config(), History: hist}
	if c.d.Alerting != nil {
		src.Windows = c.d.Alerting.Windows()
	}
	figs, err := report.Figures(ctx, src, checks, scope, hostCheck, report.Spans(c.now(), rc.L.Loc))
	if err != nil {
		c.log.Error("console: availability", "err", err)
		return nil
	}
	out := make([]availCell, len(figs))
	for i, f := range figs {
		out[i] = availCell{Key: f.Span.Key, Percent: f.AvailabilityPercent,
			Down:   time.Duration(f.DowntimeSeconds * float64(time.Second)),
			NoData: time.Duration((f.NoDataSeconds + f.UnknownSeconds) * float64(time.Second))}
		if total := f.Span.To.Sub(f.Span.From).Seconds() * float64(len(checks)); scope == report.ScopeAll && len(checks) > 1 && total > 0 {
			down, nodata := 100*f.DowntimeSeconds/total, 100*(f.NoDataSeconds+f.UnknownSeconds)/total
			out[i].DownShare, out[i].NoDataShare = &down, &nodata
		}
	}
	return out
}

// overviewAvailability is the scope's availability over all its checks,
// cached for a minute per scope.
func (c *Console) overviewAvailability(ctx context.Context, rc *reqCtx) []availCell {
	key := rc.scope.storeTenant() + "\x00" + rc.L.Loc.String()
	c.avail.mu.Lock()
	if e, ok := c.avail.m[key]; ok && c.now().Sub(e.at) < overviewAvailTTL {
		c.avail.mu.Unlock()
		return e.cells
	}
	c.avail.mu.Unlock()
	var checks []*config.Check
	for _, ch := range c.d.Config().Checks {
		if rc.scope.sees(ch.Tenant) && !ch.Disabled {
			checks = append(checks, ch)
		}
	}
	if len(checks) > maxOverviewChecks {
		return nil
	}
	cells := c.availability(ctx, rc, checks, report.ScopeAll, "")
	c.avail.mu.Lock()
	if c.avail.m == nil {
		c.avail.m = map[string]cachedAvail{}
	}
	c.avail.m[key] = cachedAvail{at: c.now(), cells: cells}
	c.avail.mu.Unlock()
	return cells
}

// reportList: GET /reports — the stored reports the user may see.
func (c *Console) reportList(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	data := c.base(rc, "reports.title", "reports")
	if rs, ok := c.d.Store.(store.Reports); ok {
		rows, err := rs.Reports(r.Context(), rc.scope.storeTenant(), 200)
		if err != nil {
			c.internal(w, r, rc, "reports", err)
			return
		}
		data["Reports"] = rows
	}
	c.render(w, rc, http.StatusOK, "reports", data)
}

var reportTypes = map[string]string{"pdf": "application/pdf", "html": "text/html; charset=utf-8"}

// reportFile: GET /reports/{id}.pdf|.html — another tenant's report is 404.
func (c *Console) reportFile(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	rs, ok := c.d.Store.(store.Reports)
	idText, format, _ := strings.Cut(r.PathValue("file"), ".")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil || reportTypes[format] == "" {
		c.notFound(w, r, rc)
		return
	}
	row, body, err := rs.Report(r.Context(), id, format)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !rc.scope.sees(row.Tenant)) {
		c.notFound(w, r, rc)
		return
	} else if err != nil {
		c.internal(w, r, rc, "report", err)
		return
	}
	w.Header().Set("Content-Type", reportTypes[format])
	if format == "html" {
		// Self-contained: inline styles and SVG, no script.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'")
	} else {
		w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="report-%s-%d.pdf"`, row.Tenant, row.ID))
	}
	w.Write(body)
}
