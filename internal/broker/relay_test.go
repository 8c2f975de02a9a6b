package broker

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRelayCodec: a relayed request keeps what the agent API reads, and
// only the agent API's paths are replayed.
func TestRelayCodec(t *testing.T) {
	r := httptest.NewRequest("POST", "/api/v1/agent/batch?x=1", strings.NewReader("body"))
	r.Header.Set("Authorization", "Bearer t")
	r.Header.Set("Content-Encoding", "gzip")
	r.Header.Set("Cookie", "session=secret")
	r.RemoteAddr = "10.0.0.7:5000"
	m := RelayRequest("z1", "p1", r, []byte("body"))
	if m.Subject != "mamori.agent.z1" || AgentZone(m.Subject) != "z1" || AgentZone("mamori.agent.z1.x") != "" {
		t.Fatalf("subject %s", m.Subject)
	}
	got, poller, err := decodeRequest(m)
	if err != nil {
		t.Fatal(err)
	}
	if poller != "p1" || got.Method != "POST" || got.URL.RequestURI() != "/api/v1/agent/batch?x=1" || got.Header.Get("Authorization") != "Bearer t" ||
		got.Header.Get("Content-Encoding") != "gzip" || got.Header.Get("Cookie") != "" || got.RemoteAddr != "10.0.0.7:5000 via poller p1" || got.ContentLength != 4 {
		t.Fatalf("decoded %+v", got)
	}
	for _, path := range []string{"/api/v1/users", "/api/v1/push/a/b", "/api/v1/agent/hello/x"} {
		r := httptest.NewRequest("GET", path, nil)
		if _, _, err := decodeRequest(RelayRequest("z1", "p1", r, nil)); err == nil {
			t.Errorf("%s relayed", path)
		}
	}
	rp := ErrorReply(http.StatusServiceUnavailable, "later")
	back, err := DecodeReply(encodeReply(rp))
	if err != nil || back.Status != 503 || back.Header.Get("Retry-After") == "" || !strings.Contains(string(back.Body), `"error":"later"`) {
		t.Fatalf("reply %+v %v", back, err)
	}
}
