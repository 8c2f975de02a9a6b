package alerting

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	_ "github.com/mamori/mamori/internal/notify/twilio"
)

// twilioCalls is a local Calls API: POST /2010-04-01/Accounts/SID/Calls.json
// with To, From and Twiml, answered 201 with the call's sid.
type twilioCalls struct {
	srv      *httptest.Server
	mu       sync.Mutex
	to       []string
	statusCB []url.Values
}

func newTwilioCalls(t *testing.T) *twilioCalls {
	c := &twilioCalls{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		if r.URL.Path != "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls.json" || form.Get("Twiml") == "" {
			t.Errorf("twilio: %s %s %q", r.Method, r.URL.Path, body)
		}
		c.mu.Lock()
		c.to = append(c.to, form.Get("To"))
		c.statusCB = append(c.statusCB, url.Values{"StatusCallback": form["StatusCallback"], "StatusCallbackEvent": form["StatusCallbackEvent"]})
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"sid":"CA0001","status":"queued"}`)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *twilioCalls) wait(t *testing.T, n int, d time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		c.mu.Lock()
		got := append([]string(nil), c.to...)
		c.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Pressing 1 on the phone acknowledges; the person who did it is not rung
// again with their own acknowledgement, the others are told.
func TestAckByPhoneDoesNotRingTheAcknowledger(t *testing.T) {
	calls := newTwilioCalls(t)
	f := newFlow(t, `contacts:
  - {name: taro, phone: "+81312345678"}
  - {name: jiro, phone: "+81312345679"}
escalations:
  - name: night
    levels:
      - {after: 0s, notify: [{channel: phone, contact: taro}, {channel: phone, contact: jiro}]}
`, `  - {name: phone, type: twilio, account_sid: AC0123456789abcdef0123456789abcdef, auth_token: secret, from: "+81300000000", base_url: "`+calls.srv.URL+`"}`)
	f.s.cfg.Check("web1/http").Notify = []string{"night"}
	f.change("web1/http", check.OK, check.Critical)
	if got := calls.wait(t, 2, 10*time.Second); len(got) != 2 {
		t.Fatalf("problem calls: %v", got)
	}
	in := f.openIncident("web1/http")
	if _, err := f.s.Acknowledge(f.ctx, in.ID, "taro", "phone", ""); err != nil {
		t.Fatal(err)
	}
	calls.wait(t, 3, 10*time.Second)
	got := calls.wait(t, 4, time.Second) // a wrong extra call would come now
	if len(got) != 3 || got[2] != "+81312345679" {
		t.Errorf("calls %v: after taro pressed 1 only jiro is told", got)
	}
}
