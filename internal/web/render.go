package web

import (
	"bytes"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/runbook"
)

type pageTemplate struct {
	t *template.Template
}

var funcs = template.FuncMap{
	// pct formats an availability (nil: unknown).
	"pct": func(p *float64) string {
		if p == nil {
			return "—"
		}
		return strconv.FormatFloat(*p, 'f', 3, 64) + "%"
	},
	// unixms is t in Unix milliseconds for scripts (data-ago), "" when zero.
	"unixms": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return strconv.FormatInt(t.UnixMilli(), 10)
	},
	"stateClass": func(s check.Status) string { return "st-" + strings.ToLower(s.String()) },
	"statusClass": func(s string) string {
		return "st-" + strings.ToLower(strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' {
				return r
			}
			return -1
		}, s))
	},
	"add":   func(a, b int) int { return a + b },
	"esc":   url.PathEscape,
	"query": url.QueryEscape,
	// checkPath escapes each segment of a check name ("web1/http").
	"checkPath": checkPath,
	"join":      strings.Join,
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	// runbookHTML is the one place trusted HTML enters a page: the output
	// of the runbook package's safe markdown renderer.
	"runbookHTML": func(md string) template.HTML { return template.HTML(runbook.RenderHTML(md)) },
	"itoa":        strconv.Itoa,
	// attemptsView is the data of the login_attempts table.
	"attemptsView": func(l *Locale, rows []LoginAttemptInfo, all bool) map[string]any {
		return map[string]any{"L": l, "Rows": rows, "All": all}
	},
	"i64": func(n int64) string { return strconv.FormatInt(n, 10) },
}

func checkPath(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// mustTemplates parses layout.html with each page template.
func mustTemplates() map[string]*pageTemplate {
	out := map[string]*pageTemplate{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t := template.Must(template.New(base).Option("missingkey=zero").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
		out[base] = &pageTemplate{t: t}
	}
	return out
}

// render executes a page into a buffer first, so that an error never
// leaves half a page.
func (c *Console) render(w http.ResponseWriter, rc *reqCtx, code int, page string, data map[string]any) {
	c.renderTemplate(w, code, page, "layout", data)
}

func (c *Console) renderTemplate(w http.ResponseWriter, code int, page, tmpl string, data map[string]any) {
	pt, ok := c.pages[page]
	if !ok {
		http.Error(w, "no template "+page, http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := pt.t.ExecuteTemplate(&buf, tmpl, data); err != nil {
		c.log.Error("console: render", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// pager is the pagination of a list.
type pager struct {
	Page    int
	HasPrev bool
	HasNext bool
	Prev    string
	Next    string
}

// pageOf reads ?page= (1..maxPage).
func pageOf(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		return 1
	}
	return min(n, maxPage)
}

func makePager(r *http.Request, page int, hasNext bool) pager {
	link := func(p int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		return r.URL.Path + "?" + q.Encode()
	}
	p := pager{Page: page, HasPrev: page > 1, HasNext: hasNext && page < maxPage}
	if p.HasPrev {
		p.Prev = link(page - 1)
	}
	if p.HasNext {
		p.Next = link(page + 1)
	}
	return p
}
