package runbook

import (
	"slices"
	"testing"
)

func TestReaders(t *testing.T) {
	targets := []Target{
		{Check: "a1/svc", Type: "http", Host: "a1", Tenant: "acme"},
		{Host: "a1", Tenant: "acme"},
		{Check: "o1/svc", Type: "http", Host: "o1", Tenant: "other"},
		{Check: "ops/dns", Type: "dns", Host: "ops"},
	}
	for _, c := range []struct {
		md   string
		want []string
	}{
		{"# unbound\n", nil},
		{"---\nchecks: [a1/svc]\n---\n", []string{"acme"}},
		{"---\nhosts: [a1]\n---\n", []string{"acme"}},
		{"---\ntypes: [http]\n---\n", nil},                                 // two tenants
		{"---\ntypes: [dns]\n---\n", nil},                                  // the operator's own
		{"---\ntypes: [http]\ntenants: [other]\n---\n", []string{"other"}}, // opened by front matter
		{"---\ntenants: [b, a, b]\n---\n", []string{"a", "b"}},
		{"---\nchecks: [nosuch]\n---\n", nil},
	} {
		r, err := Parse("x", []byte(c.md))
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Readers(targets); !slices.Equal(got, c.want) {
			t.Errorf("%q: readers %v, want %v", c.md, got, c.want)
		}
	}
	l := NewLibrary()
	g := l.Generation()
	_ = l.Put(&Runbook{Name: "x"})
	if l.Generation() == g {
		t.Error("Put did not change the generation")
	}
}
