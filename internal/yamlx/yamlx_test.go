package yamlx

import (
	"strings"
	"testing"
	"time"
)

func TestErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{File: "a.yaml", Line: 3, Col: 5, Path: "checks[0].url", Msg: "bad"}, "a.yaml:3:5: checks[0].url: bad"},
		{Error{File: "a.yaml", Line: 3, Msg: "bad"}, "a.yaml:3: bad"},
		{Error{File: "a.yaml", Msg: "bad"}, "a.yaml: bad"},
		{Error{Line: 2, Col: 1, Path: "corn", Msg: "unknown"}, "line 2:1: corn: unknown"},
		{Error{Msg: "bad"}, "bad"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.e, got, tc.want)
		}
	}
	es := Errors{{File: "b", Line: 2, Msg: "y"}, {File: "a", Line: 9, Msg: "x"}, {File: "b", Line: 1, Msg: "z"}}.Sorted()
	if got := es.Error(); got != "a:9: x\nb:1: z\nb:2: y" {
		t.Errorf("sorted: %q", got)
	}
	if Errors(nil).Err() != nil {
		t.Error("no problems is not an error")
	}
}

func TestParseLines(t *testing.T) {
	// A parser error: yaml.v3 says line 2 (from 0) for the sequence on line 3.
	_, err := Parse("bad.yaml", []byte("a: 1\nchecks:\n  - name: a\n   type: x\n"), 0)
	if err == nil || err.Line != 3 || err.Msg != "did not find expected '-' indicator" {
		t.Fatalf("parser error: %+v", err)
	}
	// A scanner error: yaml.v3 counts from 1 already.
	_, err = Parse("tab.yaml", []byte("a: 1\nb:\n\t- x\n"), 0)
	if err == nil || err.Line != 3 || !strings.Contains(err.Msg, "cannot start any token") {
		t.Fatalf("scanner error: %+v", err)
	}
	// Front matter after its opening ---.
	_, err = Parse("rb.md", []byte("title: [a\n"), 1)
	if err == nil || err.Line < 2 || err.File != "rb.md" {
		t.Fatalf("offset: %+v", err)
	}
	root, err := Parse("empty.yaml", nil, 0)
	if root != nil || err != nil {
		t.Fatalf("empty: %v %v", root, err)
	}
}

type spec struct {
	URL     string        `yaml:"url"`
	Timeout time.Duration `yaml:"timeout"`
	Count   int           `yaml:"count"`
}

func TestStrictMappingReportsEverything(t *testing.T) {
	src := "url: http://x\nulr: y\ntimeout: soon\ncount: [1]\nnested: {a: 1, a: 2}\nskipme: 1\n"
	root, perr := Parse("s.yaml", []byte(src), 0)
	if perr != nil {
		t.Fatal(perr)
	}
	var s spec
	es := append(Duplicates("s.yaml", root), Mapping("s.yaml", "checks[2]", root, &s, map[string]bool{"skipme": true})...).Sorted()
	got := es.Error()
	for _, want := range []string{
		"s.yaml:2:1: checks[2].ulr: unknown field",
		"s.yaml:3:10: checks[2].timeout:",
		"s.yaml:4:8: checks[2].count:",
		"s.yaml:5:16: a: duplicate key (first at line 5)",
		"s.yaml:5:1: checks[2].nested: unknown field",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "skipme") {
		t.Errorf("a skipped key reported:\n%s", got)
	}
	if s.URL != "http://x" {
		t.Errorf("url = %q", s.URL)
	}
	if es := Mapping("s.yaml", "x", root.Content[1], &s, nil); len(es) != 1 || !strings.Contains(es.Error(), "x: must be a mapping") {
		t.Errorf("scalar as mapping: %v", es)
	}
}

func TestJoin(t *testing.T) {
	for _, tc := range [][3]string{{"", "a", "a"}, {"a", "b", "a.b"}, {"a", "[1]", "a[1]"}, {"a", "", "a"}} {
		if got := Join(tc[0], tc[1]); got != tc[2] {
			t.Errorf("Join(%q, %q) = %q", tc[0], tc[1], got)
		}
	}
}
