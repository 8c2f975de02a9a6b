package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"

	_ "github.com/mamori/mamori/internal/notify/twilio"
)

// sign computes X-Twilio-Signature as Twilio documents it: HMAC-SHA1 of
// the full URL followed by the sorted POST parameters (name then value).
func sign(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b := fullURL
	for _, k := range keys {
		for _, v := range form[k] {
			b += k + v
		}
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(b))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Twilio's StatusCallback reaches the incident's timeline; a forged one is
// refused.
func TestTwilioStatusCallback(t *testing.T) {
	e := newSecEnv(t, `channels:
  - {name: phone, type: twilio, account_sid: AC0123456789abcdef0123456789abcdef, auth_token: tok, from: "+15005550006", base_url: "http://127.0.0.1:1"}
`)
	id := e.ids["acme"]
	full := e.al.CallStatusURL(id, "taro")
	path := full[strings.Index(full, "/hooks/"):]
	form := url.Values{"CallStatus": {"busy"}, "CallSid": {"CA0001"}}
	post := func(sig string) int {
		req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		rec := httptest.NewRecorder()
		e.s.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := post(sign("wrong", full, form)); code != 403 {
		t.Errorf("forged status callback: %d, want 403", code)
	}
	if code := post(sign("tok", full, form)); code != 204 {
		t.Fatalf("status callback: %d, want 204", code)
	}
	in, err := e.st.Incident(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tl := range in.Timeline {
		found = found || (tl.Kind == "call" && strings.Contains(tl.Text, "phone call to taro: busy"))
	}
	if !found {
		t.Errorf("timeline %+v", in.Timeline)
	}
}
