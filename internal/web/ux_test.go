package web

import (
	"context"
	"encoding/json"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/maintenance"
)

// Issue 14, defect 6: the overview colours its tiles by state, lists what
// it counts, keeps relative times live, shows running maintenance, says
// that nobody is notified without channels, and has a favicon.
func TestOverviewTilesMaintenanceFavicon(t *testing.T) {
	e := newEnv(t)
	start := time.Now().Add(-time.Minute)
	w := maintenance.Window{Tenant: "acme", Hosts: []string{"web1"}, Start: start, End: start.Add(time.Hour), Reason: "kernel update", Name: "patch night"}
	b, _ := w.MarshalJSON()
	if _, err := e.st.CreateMaintenance(context.Background(), b, "t"); err != nil {
		t.Fatal(err)
	}
	if err := e.alert.RefreshMaintenance(context.Background()); err != nil {
		t.Fatal(err)
	}
	body := e.do(uOperator.Name, "GET", "/", nil).Body.String()
	for _, want := range []string{
		`class="count st-critical"`, // a problem: coloured, not dimmed
		`class="count st-warning zero"`,
		`id="no-channel"`,
		`id="maint-running"`, "patch night", "kernel update",
		`data-ago="`,
		`rel="icon"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if strings.Contains(body, "%!") {
		t.Errorf("a formatting error on the overview (availability as a pointer?)")
	}
	if strings.Contains(body, "1 hard problems") {
		t.Errorf("overview says \"1 hard problems\"")
	}
	// The customer sees the maintenance of their tenant, not the channel banner (an operator matter).
	if body := e.do(uCustomer.Name, "GET", "/", nil).Body.String(); !strings.Contains(body, "patch night") || strings.Contains(body, `id="no-channel"`) {
		t.Errorf("customer overview: maintenance or banner wrong")
	}
	if body := e.do(uGlobex.Name, "GET", "/", nil).Body.String(); strings.Contains(body, "patch night") {
		t.Errorf("another tenant's maintenance shown")
	}
	for _, p := range []string{"/favicon.ico", "/static/favicon.svg"} {
		rec := e.do("", "GET", p, nil)
		if rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Type"), "svg") {
			t.Errorf("%s: %d %q", p, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
}

// Defect 5: the check graph's x axis is the range asked for (one sample in
// a day is drawn in that day), and hard CRITICAL periods are shaded.
func TestCheckChartRangeAndCriticalBands(t *testing.T) {
	e := newEnv(t) // web1/http is CRITICAL since newEnv
	body := e.do(uOperator.Name, "GET", "/checks/web1/http?range=1d", nil).Body.String()
	m := regexp.MustCompile(`id="chart-time" data-chart="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no chart-time")
	}
	var ch chart
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &ch); err != nil {
		t.Fatal(err)
	}
	now := float64(time.Now().Unix())
	if ch.End < now-60 || ch.End > now+60 || ch.End-ch.Start < 86000 || ch.End-ch.Start > 86800 {
		t.Errorf("range %v..%v, want the last day", ch.Start, ch.End)
	}
	if len(ch.Bands) != 1 || ch.Bands[0][1] < now-60 {
		t.Errorf("critical bands %v, want one open up to now", ch.Bands)
	}
}

// Defect 5: the network graph leaves out loopback and virtual interfaces.
func TestNetworkGraphExcludesVirtualInterfaces(t *testing.T) {
	for _, g := range DefaultHostGraphs {
		if g.ID != "network" {
			continue
		}
		for _, q := range g.Queries {
			re := regexp.MustCompile(`device!~"([^"]*)"`).FindStringSubmatch(q.Expr)
			if re == nil {
				t.Fatalf("%s: no device filter", q.Expr)
			}
			dev := regexp.MustCompile("^(?:" + re[1] + ")$")
			for _, d := range []string{"lo", "ifb0", "veth12ab", "docker0", "br-1234"} {
				if !dev.MatchString(d) {
					t.Errorf("%s not excluded", d)
				}
			}
			for _, d := range []string{"eth0", "ens3", "enp0s31f6", "wlan0", "bond0"} {
				if dev.MatchString(d) {
					t.Errorf("%s excluded", d)
				}
			}
		}
	}
}

// Defect 5: ping graphs its round-trip time and loss, not its run time.
func TestPingChartsRTTAndLoss(t *testing.T) {
	cs := checkCharts("ping")
	if len(cs) != 2 || cs[0].Label != "rta" || cs[1].Label != "pl" {
		t.Fatalf("ping charts %+v", cs)
	}
	if cs := checkCharts("http"); len(cs) != 1 || cs[0].Label != "" {
		t.Fatalf("http charts %+v", cs)
	}
}

// tagRE strips markup; the timeline's free text (people's comments, and
// the system's own entries, which the alerting side writes) is data, not UI.
var tagRE = regexp.MustCompile(`(?s)<script.*?</script>|<style.*?</style>|<div class="tl-text">.*?</div>|<[^>]*>`)

// Defect 4: a Japanese page shows no English UI string: every English
// catalogue entry that differs from its Japanese one is absent from the
// rendered text of the main pages.
func TestJapanesePagesHaveNoEnglishUIStrings(t *testing.T) {
	e := newEnv(t)
	ja := User{Name: "hanako", Role: RoleOperator, Lang: "ja"}
	e.auth.addUser(ja, "pw")
	e.sid[ja.Name] = e.auth.session(ja)
	en, jm := e.con.cat.msgs[English], e.con.cat.msgs[Japanese]
	id := e.incident["acme"]
	for _, p := range []string{"/", "/hosts", "/hosts/web1", "/checks", "/checks/web1/http", "/incidents", "/incidents/" + itoa(id), "/maintenance", "/tickets"} {
		rec := e.do(ja.Name, "GET", p, nil)
		if rec.Code != 200 {
			t.Errorf("%s: %d", p, rec.Code)
			continue
		}
		text := html.UnescapeString(tagRE.ReplaceAllString(rec.Body.String(), " "))
		for k, v := range en {
			if len(v) < 4 || jm[k] == v || strings.Contains(v, "{") || !regexp.MustCompile(`[a-z]{3}`).MatchString(v) {
				continue
			}
			if regexp.MustCompile(`(^|[^A-Za-z])` + regexp.QuoteMeta(v) + `([^A-Za-z]|$)`).MatchString(text) {
				t.Errorf("%s (ja) shows the English %q (%s)", p, v, k)
			}
		}
	}
}
