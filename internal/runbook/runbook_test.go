package runbook

import (
	"errors"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

func loadLib(t *testing.T) *Library {
	t.Helper()
	l, errs := LoadDir("testdata/lib")
	if len(errs) > 0 {
		t.Fatalf("LoadDir: %v", errs)
	}
	return l
}

func TestLoadDir(t *testing.T) {
	l := loadLib(t)
	var names []string
	for _, r := range l.List() {
		names = append(names, r.Name)
	}
	want := []string{"acme/http", "groups/web", "hosts/db1", "plain", "tags/customer-a", "types/aaa-ping", "types/http", "types/ping", "web-http", "web1-http"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("names = %q\nwant %q", names, want)
	}
	tests := []struct {
		name, title, bodyStart string
		checks, tenants        []string
	}{
		{"web-http", "Web HTTP check failing", "# HTTP が応答しない", []string{"web*/http", "web*/https"}, nil},
		{"hosts/db1", "db1 (primary PostgreSQL)", "# db1", nil, nil},
		{"plain", "Plain runbook", "# Plain runbook", nil, nil},
		{"tags/customer-a", "Customer A escalation", "Call", nil, []string{"acme"}},
		{"web1-http", "web1 HTTP (legacy app)", "web1 runs", []string{"web1/http"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := l.Get(tc.name)
			if r == nil {
				t.Fatal("missing")
			}
			if r.Title != tc.title || !strings.HasPrefix(r.Body, tc.bodyStart) {
				t.Errorf("title %q body %q", r.Title, r.Body)
			}
			if !reflect.DeepEqual(r.Checks, tc.checks) || !reflect.DeepEqual(r.Tenants, tc.tenants) {
				t.Errorf("checks %q tenants %q", r.Checks, r.Tenants)
			}
			if want := filepath.Join("testdata/lib", filepath.FromSlash(tc.name)+".md"); r.Source != want {
				t.Errorf("source %q, want %q", r.Source, want)
			}
		})
	}
}

func TestLoadDirErrors(t *testing.T) {
	l, errs := LoadDir("testdata/bad")
	if l.Get("good") == nil || l.Len() != 1 {
		t.Fatalf("the good runbook must load despite the others: %v", l.List())
	}
	var got []string
	for _, e := range errs {
		var re *Error
		if !errors.As(e, &re) {
			t.Errorf("error %v is not *Error", e)
		}
		got = append(got, e.Error())
	}
	sort.Strings(got)
	want := []string{
		"testdata/bad/badyaml.md:3: front matter: did not find expected ',' or ']'",
		"testdata/bad/nested/badpattern.md:3: checks: \"web[/x\" is not a valid pattern",
		"testdata/bad/nested/badpattern.md:4: checks: empty item",
		"testdata/bad/unclosed.md:1: front matter is not closed by a --- line",
		"testdata/bad/unknown.md:4: unknown front matter key \"check\" (known: title, checks, types, hosts, groups, tags, tenants)",
		"testdata/bad/unknown.md:5: tags must be a name or a list of names",
	}
	if len(got) != len(want) {
		t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d = %q\nwant prefix %q", i, got[i], want[i])
		}
	}

	if _, errs := LoadDir("testdata/nonexistent"); len(errs) != 1 {
		t.Errorf("missing dir: %v", errs)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     *Runbook
		err      string
	}{
		{"no front matter", "# Title\n\nbody\n", &Runbook{Name: "x", Title: "Title", Body: "# Title\n\nbody\n"}, ""},
		{"crlf and bom", "\uFEFF---\r\ntitle: T\r\nhosts: h1\r\n---\r\nbody\r\n", &Runbook{Name: "x", Title: "T", Body: "body\n", Hosts: []string{"h1"}}, ""},
		{"empty front matter", "---\n---\nbody", &Runbook{Name: "x", Title: "x", Body: "body"}, ""},
		{"dots close", "---\ntypes: [ping]\n...\nbody", &Runbook{Name: "x", Title: "x", Body: "body", Types: []string{"ping"}}, ""},
		{"heading in code is not a title", "```\n# not\n```\n## Real\n", &Runbook{Name: "x", Title: "Real", Body: "```\n# not\n```\n## Real\n"}, ""},
		{"scalar list", "---\ngroups: web\ntenants: acme\n---\n", &Runbook{Name: "x", Title: "x", Groups: []string{"web"}, Tenants: []string{"acme"}}, ""},
		{"not a mapping", "---\n- a\n---\n", nil, "x:2: front matter must be a mapping"},
		{"duplicate key", "---\nhosts: a\nhosts: b\n---\n", nil, "x:3: hosts given twice"},
		{"title not text", "---\ntitle: [a]\n---\n", nil, "x:2: title must be text"},
		{"nested list item", "---\ntags: [[a]]\n---\n", nil, "x:2: tags: items must be names"},
		{"yaml scanner error line", "---\ntitle: a\nhosts: b: c\n---\n", nil, "x:3: front matter: mapping values are not allowed"},
		{"yaml parser error line", "---\ntitle: a\nchecks: [a\n---\n", nil, "x:3: front matter: did not find expected"},
		{"invalid utf8", "\xff\xfe", nil, "x: runbook is not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse("x", []byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(r, tc.want) {
				t.Fatalf("got  %#v\nwant %#v", r, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "/a", "a/", "a//b", "../a", ".hidden", "a/.b", "a\\b"} {
		if _, err := Parse(bad, []byte("x")); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
}

func TestMatch(t *testing.T) {
	l := loadLib(t)
	tests := []struct {
		name  string
		t     Target
		want  string
		level string
	}{
		{"exact check beats pattern", Target{Check: "web1/http", Type: "http", Host: "web1", Groups: []string{"web"}}, "web1-http", "check"},
		{"check pattern", Target{Check: "web2/http", Type: "http", Host: "web2", Groups: []string{"web"}}, "web-http", "check"},
		{"check pattern https", Target{Check: "web2/https", Type: "https", Host: "web2"}, "web-http", "check"},
		{"host beats group and type", Target{Check: "db1/http", Type: "http", Host: "db1", Groups: []string{"web"}}, "hosts/db1", "host"},
		{"group beats tag and type", Target{Check: "app1/http", Type: "http", Host: "app1", Tenant: "acme", Groups: []string{"x", "web"}, Tags: []string{"customer-a"}}, "groups/web", "group"},
		{"tag beats type", Target{Check: "app1/http", Type: "http", Host: "app1", Tenant: "acme", Tags: []string{"customer-a"}}, "tags/customer-a", "tag"},
		{"tenant-only runbook skipped for other tenants", Target{Check: "app1/http", Type: "http", Host: "app1", Tenant: "other", Tags: []string{"customer-a"}}, "types/http", "type"},
		{"tenant-specific wins within a level", Target{Check: "app1/http", Type: "http", Host: "app1", Tenant: "acme"}, "acme/http", "type"},
		{"type", Target{Check: "app1/https", Type: "https", Host: "app1"}, "types/http", "type"},
		{"tie broken by name", Target{Check: "app1/ping", Type: "ping", Host: "app1"}, "types/aaa-ping", "type"},
		{"top-level check by type", Target{Check: "dns-root", Type: "ping"}, "types/aaa-ping", "type"},
		{"none", Target{Check: "app1/dns", Type: "dns", Host: "app1"}, "", ""},
		{"empty target", Target{}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, level := l.MatchLevel(tc.t)
			got := ""
			if r != nil {
				got = r.Name
			}
			if got != tc.want || level != tc.level {
				t.Fatalf("Match = %q (%s), want %q (%s)", got, level, tc.want, tc.level)
			}
			if m := l.Match(tc.t); (m == nil) != (tc.want == "") {
				t.Fatalf("Match and MatchLevel disagree")
			}
		})
	}
}

func TestPutGetDelete(t *testing.T) {
	l := NewLibrary()
	r := &Runbook{Name: "ops/disk", Body: "# Disk full\n\nClean /var/log.", Tags: []string{"disk"}}
	if err := l.Put(r); err != nil {
		t.Fatal(err)
	}
	r.Tags[0] = "changed" // the library keeps its own copy
	got := l.Get("ops/disk")
	if got == nil || got.Title != "Disk full" || got.Tags[0] != "disk" {
		t.Fatalf("Get = %+v", got)
	}
	got.Tags[0] = "mutated"
	if l.Get("ops/disk").Tags[0] != "disk" {
		t.Fatal("Get returned shared state")
	}
	if m := l.Match(Target{Check: "h/disk", Tags: []string{"disk"}}); m == nil || m.Name != "ops/disk" {
		t.Fatalf("Match = %v", m)
	}
	for _, bad := range []*Runbook{nil, {Name: "../x"}, {Name: "x", Checks: []string{"a["}}, {Name: "x", Tags: []string{" "}}} {
		if err := l.Put(bad); err == nil {
			t.Errorf("Put(%+v) accepted", bad)
		}
	}
	if !l.Delete("ops/disk") || l.Delete("ops/disk") || l.Get("ops/disk") != nil {
		t.Fatal("Delete")
	}
	var zero Library
	if err := zero.Put(&Runbook{Name: "z"}); err != nil || zero.Get("z") == nil {
		t.Fatal("zero Library unusable")
	}
}

func TestMarkdownRoundTrip(t *testing.T) {
	l := loadLib(t)
	for _, r := range l.List() {
		back, err := Parse(r.Name, r.Markdown())
		if err != nil {
			t.Fatalf("%s: %v\n%s", r.Name, err, r.Markdown())
		}
		back.Source = r.Source
		if !reflect.DeepEqual(back, r) {
			t.Errorf("%s: round trip\n got %#v\nwant %#v", r.Name, back, r)
		}
	}
}

func TestConcurrent(t *testing.T) {
	l := loadLib(t)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				if i%2 == 0 {
					_ = l.Put(&Runbook{Name: "tmp", Types: []string{"dns"}})
				} else {
					l.Match(Target{Check: "a/dns", Type: "dns"})
					l.List()
				}
			}
		}(i)
	}
	wg.Wait()
}

// FuzzParse: any runbook text parses or is refused with an error, and what
// parses renders.
func FuzzParse(f *testing.F) {
	f.Add([]byte("---\ntitle: x\nchecks: [web*/http]\ntenants: [acme]\n---\n# x\n1. y\n"))
	f.Add([]byte("# no front matter\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rb, err := Parse("fuzz", data)
		if err == nil {
			_ = RenderHTML(rb.Body)
		}
	})
}
