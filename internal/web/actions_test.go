package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// Issue 14, console: "run now" on a check, for operators only.
func TestRunNowFromTheCheckPage(t *testing.T) {
	cfg := strings.Replace(testConfig, "{name: http, type: webtest, disabled: true}", "{name: http, type: webtest}", 1)
	e := newEnvFrom(t, cfg)
	body := e.do(uOperator.Name, http.MethodGet, "/checks/web1/http", nil).Body.String()
	if !strings.Contains(body, `action="/run/web1/http"`) {
		t.Fatalf("the check page offers no run-now button to an operator")
	}
	if strings.Contains(e.do(uCustomer.Name, http.MethodGet, "/checks/web1/http", nil).Body.String(), `id="run-now"`) {
		t.Errorf("a customer is offered run now")
	}
	if rec := e.do(uCustomer.Name, http.MethodPost, "/run/web1/http", nil); rec.Code != http.StatusForbidden {
		t.Errorf("customer run now: %d, want 403", rec.Code)
	}
	if rec := e.do(uOperator.Name, http.MethodPost, "/run/web1/nosuch", nil); rec.Code != http.StatusNotFound {
		t.Errorf("run now of a missing check: %d, want 404", rec.Code)
	}
	if rec := e.do(uOperator.Name, http.MethodPost, "/run/db1/pg", nil); rec.Header().Get("Location") != "/checks/db1/pg?m=disabled" {
		t.Errorf("run now of a disabled check: %d %q, want the page saying it is disabled", rec.Code, rec.Header().Get("Location"))
	}

	before := e.resultsOf("web1/http", check.OK)
	rec := e.do(uOperator.Name, http.MethodPost, "/run/web1/http", nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/checks/web1/http?m=scheduled" {
		t.Fatalf("run now: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.resultsOf("web1/http", check.OK) <= before {
		if time.Now().After(deadline) {
			t.Fatalf("no new result of web1/http 10 s after run now")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(e.do(uOperator.Name, http.MethodGet, "/checks/web1/http?m=scheduled", nil).Body.String(), "Asked for a run now") {
		t.Errorf("the check page does not confirm the run")
	}
}

// resultsOf counts the stored results of a check in the given status.
func (e *testEnv) resultsOf(name string, status check.Status) int {
	e.t.Helper()
	rows, err := e.st.Results(context.Background(), name, time.Time{}, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, r := range rows {
		if r.Status == status {
			n++
		}
	}
	return n
}

// Issue 14, console: acknowledge and resolve from the overview.
func TestAckAndResolveFromTheOverview(t *testing.T) {
	e := newEnv(t)
	id := e.incident["acme"]
	ack := `action="/incidents/` + strconv.FormatInt(id, 10) + `/ack"`
	resolve := `action="/incidents/` + strconv.FormatInt(id, 10) + `/resolve"`
	ov := e.do(uCustomer.Name, http.MethodGet, "/", nil).Body.String()
	if !strings.Contains(ov, ack) || strings.Contains(ov, resolve) {
		t.Errorf("customer overview: want acknowledge and no resolve")
	}
	if ov := e.do(uViewer.Name, http.MethodGet, "/", nil).Body.String(); strings.Contains(ov, ack) {
		t.Errorf("a viewer is offered acknowledge")
	}
	ov = e.do(uOperator.Name, http.MethodGet, "/", nil).Body.String()
	if !strings.Contains(ov, ack) || !strings.Contains(ov, resolve) || !strings.Contains(ov, `name="back" value="overview"`) {
		t.Fatalf("operator overview lacks acknowledge/resolve buttons")
	}
	rec := e.do(uOperator.Name, http.MethodPost, "/incidents/"+strconv.FormatInt(id, 10)+"/ack", url.Values{"back": {"overview"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/?m=acked" {
		t.Fatalf("ack from the overview: %d %q, want back to /?m=acked", rec.Code, rec.Header().Get("Location"))
	}
	in, err := e.st.Incident(context.Background(), id)
	if err != nil || in.AckedAt == nil || in.AckedBy != uOperator.Name {
		t.Fatalf("incident not acknowledged by %s: %+v %v", uOperator.Name, in, err)
	}
	ov = e.do(uOperator.Name, http.MethodGet, "/?m=acked", nil).Body.String()
	if !strings.Contains(ov, "acknowledged by ops") || strings.Contains(ov, ack) || !strings.Contains(ov, "escalation has stopped") {
		t.Errorf("overview after ack: want 'acknowledged by ops', the flash, and no second ack button")
	}
	// The check of this incident is still CRITICAL: resolving asks for
	// confirmation on the incident page, from the overview too.
	rec = e.do(uOperator.Name, http.MethodPost, "/incidents/"+strconv.FormatInt(id, 10)+"/resolve", url.Values{"back": {"overview"}})
	if loc := rec.Header().Get("Location"); !strings.Contains(loc, "m=stillfailing") {
		t.Errorf("resolve of a still failing check from the overview: %q, want the confirmation", loc)
	}
	// Another tenant's incident is not theirs to acknowledge.
	other := strconv.FormatInt(e.incident["globex"], 10)
	if rec := e.do(uCustomer.Name, http.MethodPost, "/incidents/"+other+"/ack", url.Values{"back": {"overview"}}); rec.Code != http.StatusNotFound {
		t.Errorf("acme acknowledging globex's incident: %d, want 404", rec.Code)
	}
}

// Issue 14, console: the host grid, one tile per visible host.
func TestHostGrid(t *testing.T) {
	e := newEnv(t)
	e.record("web1/alive", check.Critical, "down")
	body := e.do(uOperator.Name, http.MethodGet, "/hosts?view=grid", nil).Body.String()
	if !strings.Contains(body, `id="host-grid"`) || strings.Contains(body, `id="hosts"`) {
		t.Fatalf("grid view shows no grid (or the table too)")
	}
	for _, want := range []string{`href="/hosts/web1" class="tile st-critical"`, `href="/hosts/db1" class="tile st-pending"`, `name="view" value="grid"`} {
		if !strings.Contains(body, want) {
			t.Errorf("grid lacks %s", want)
		}
	}
	cust := e.do(uCustomer.Name, http.MethodGet, "/hosts?view=grid", nil).Body.String()
	if strings.Contains(cust, "/hosts/db1") {
		t.Errorf("acme's grid shows globex's host")
	}
}

// The overview's availability adds time up over its checks: down and
// no-data time are shown as shares, never as more hours than the span has
// (it showed "3d 23h" unknown in the 24-hour column).
func TestOverviewAvailabilityShares(t *testing.T) {
	cfg := strings.Replace(testConfig, "{name: alive, type: webtest, disabled: true}", "{name: alive, type: webtest}", 1)
	cfg = strings.Replace(cfg, "{name: http, type: webtest, disabled: true}", "{name: http, type: webtest}", 1)
	e := newEnvFrom(t, cfg)
	body := e.do(uOperator.Name, http.MethodGet, "/", nil).Body.String()
	i := strings.Index(body, `id="availability"`)
	if i < 0 {
		t.Fatalf("no availability on the overview")
	}
	sec := body[i:]
	sec = sec[:strings.Index(sec, "</section>")]
	row := sec[strings.Index(sec, "Unknown / no data"):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, "%") || strings.Contains(row, "h ") || strings.Contains(row, "d ") {
		t.Errorf("no-data row over two checks is not a share: %s", row)
	}
	if !strings.Contains(sec, "shares of the time of all checks") {
		t.Errorf("the overview does not say the figures are shares")
	}
	// One check (its own page) keeps durations.
	page := e.do(uOperator.Name, http.MethodGet, "/checks/web1/http", nil).Body.String()
	if j := strings.Index(page, "Unknown / no data"); j < 0 || strings.Contains(page[j:j+200], "%") {
		t.Errorf("a single check's no-data time should stay a duration")
	}
}
