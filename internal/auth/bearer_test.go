package auth

import (
	"net/http/httptest"
	"testing"
)

func TestBearerTokenSchemeIsCaseInsensitive(t *testing.T) {
	for _, c := range []struct {
		header string
		token  string
		ok     bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER abc", "abc", true},
		{"bEaReR  abc ", "abc", true},
		{"Bearer ", "", true},
		{"Basic abc", "", false},
		{"Bearerabc", "", false},
		{"", "", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		tok, ok := BearerToken(r)
		if tok != c.token || ok != c.ok {
			t.Errorf("%q: got (%q, %v), want (%q, %v)", c.header, tok, ok, c.token, c.ok)
		}
	}
}
