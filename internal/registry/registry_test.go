package registry

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

type kind struct{ Name string }

func newReg() *Registry[*kind] { return New("test", func(k *kind) string { return k.Name }) }

func TestRegisterLookupList(t *testing.T) {
	r := newReg()
	for _, n := range []string{"tcp", "http", "dns"} {
		r.Register(&kind{Name: n})
	}
	if k, ok := r.Lookup("http"); !ok || k.Name != "http" {
		t.Fatalf("Lookup(http) = %v, %v", k, ok)
	}
	if _, ok := r.Lookup("ftp"); ok {
		t.Fatal("Lookup of an unknown name succeeded")
	}
	if got := r.Names(); !slices.Equal(got, []string{"dns", "http", "tcp"}) {
		t.Fatalf("Names = %v", got)
	}
	var names []string
	for _, k := range r.All() {
		names = append(names, k.Name)
	}
	if !slices.Equal(names, []string{"dns", "http", "tcp"}) {
		t.Fatalf("All = %v", names)
	}
}

func TestRegisterPanics(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kinds []string
		want  string
	}{
		{"duplicate", []string{"a", "a"}, "test: Register: duplicate kind a"},
		{"empty", []string{""}, "test: Register: kind needs a name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReg()
			defer func() {
				if got := fmt.Sprint(recover()); got != tc.want {
					t.Fatalf("panic %q, want %q", got, tc.want)
				}
			}()
			for _, n := range tc.kinds {
				r.Register(&kind{Name: n})
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	r := newReg()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() { defer wg.Done(); r.Register(&kind{Name: fmt.Sprint(i)}) }()
		go func() { defer wg.Done(); r.Lookup("0"); r.All() }()
	}
	wg.Wait()
	if len(r.Names()) != 8 {
		t.Fatalf("Names = %v", r.Names())
	}
}
