package broker

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
)

// Agents behind a poller (docs/pollers.md): a poller serves the agent API's
// paths inside its network and relays each request as a NATS request on
// AgentSubject(zone); the leading server replays it into its agent API and
// replies. Method, path, the agent's address, the poller's name and the
// headers the agent API reads travel as NATS headers, the body as the
// message's data; the reply carries the status, headers and body the same
// way.

// AgentSubjects is what the servers subscribe to (queue group AgentQueue,
// so that one server answers each request).
const (
	AgentSubjects = "mamori.agent.*"
	AgentQueue    = "mamori-server"
)

// AgentSubject is where a zone's pollers relay agent requests.
func AgentSubject(zone string) string { return "mamori.agent." + zone }

// AgentZone is the zone of a relayed request's subject ("" if none).
func AgentZone(subject string) string {
	zone, ok := strings.CutPrefix(subject, "mamori.agent.")
	if !ok || strings.Contains(zone, ".") {
		return ""
	}
	return zone
}

// RelayHeaderRoom is the part of the broker's max payload kept for the
// relay's headers: a relayed body may take the rest.
const RelayHeaderRoom = 8 << 10

// The relay's own headers.
const (
	hdrMethod = "Mamori-Method"
	hdrPath   = "Mamori-Path" // path and query
	hdrRemote = "Mamori-Remote"
	hdrPoller = "Mamori-Poller"
	hdrStatus = "Mamori-Status"
	hdrID     = "Mamori-Request" // the request's ID (random), for a cancel
	hdrCancel = "Mamori-Cancel"  // a cancel of the request of this ID
)

var (
	requestHeaders = []string{"Authorization", "Content-Type", "Content-Encoding", "Content-Length", "X-Mamori-Protocol", "User-Agent"}
	replyHeaders   = []string{"Content-Type", "Retry-After", "WWW-Authenticate", "Upgrade", "X-Content-Type-Options"}
)

// RelayedPath reports whether path is one of the agent API's paths a
// poller relays.
func RelayedPath(path string) bool {
	switch path {
	case "/api/v1/agent/hello", "/api/v1/agent/batch", "/api/v1/agent/poll", "/api/v1/agent/respond":
		return true
	}
	tok, ok := strings.CutPrefix(path, "/api/v1/push/")
	return ok && tok != "" && !strings.Contains(tok, "/")
}

// RelayRequest is the message of an agent's request r (whose body was
// read into body) relayed by poller of zone.
func RelayRequest(zone, poller string, r *http.Request, body []byte) *nats.Msg {
	m := nats.NewMsg(AgentSubject(zone))
	m.Data = body
	m.Header.Set(hdrMethod, r.Method)
	m.Header.Set(hdrPath, r.URL.RequestURI())
	m.Header.Set(hdrRemote, r.RemoteAddr)
	m.Header.Set(hdrPoller, poller)
	m.Header.Set(hdrID, randomID())
	copyHeaders(http.Header(m.Header), r.Header, requestHeaders)
	m.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return m
}

// CancelRequest is the message that tells the server the agent of a
// relayed request m has gone (it hung up a long poll): the server ends
// the request, so that a long poll does not take a server request for an
// agent that is no longer listening.
func CancelRequest(m *nats.Msg) *nats.Msg {
	c := nats.NewMsg(m.Subject)
	c.Header.Set(hdrCancel, m.Header.Get(hdrID))
	return c
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Reply is a relayed request's answer.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// DecodeReply reads a server's reply to a relayed request.
func DecodeReply(m *nats.Msg) (Reply, error) {
	st, err := strconv.Atoi(m.Header.Get(hdrStatus))
	if err != nil || st < 100 || st > 599 {
		return Reply{}, errors.New("the server's reply carries no status")
	}
	rp := Reply{Status: st, Header: http.Header{}, Body: m.Data}
	copyHeaders(rp.Header, http.Header(m.Header), replyHeaders)
	return rp, nil
}

// encodeReply is the reply message of a relayed request's answer.
func encodeReply(rp Reply) *nats.Msg {
	m := &nats.Msg{Header: nats.Header{}, Data: rp.Body}
	m.Header.Set(hdrStatus, strconv.Itoa(rp.Status))
	copyHeaders(http.Header(m.Header), rp.Header, replyHeaders)
	return m
}

// decodeRequest rebuilds a relayed agent request (its RemoteAddr says the
// poller) and returns the poller's name.
func decodeRequest(m *nats.Msg) (*http.Request, string, error) {
	method, path, poller := m.Header.Get(hdrMethod), m.Header.Get(hdrPath), m.Header.Get(hdrPoller)
	if poller == "" || !strings.HasPrefix(path, "/") {
		return nil, "", errors.New("not a relayed agent request (no poller or path)")
	}
	r, err := http.NewRequest(method, path, bytes.NewReader(m.Data))
	if err != nil {
		return nil, "", err
	}
	if !RelayedPath(r.URL.Path) {
		return nil, "", errors.New(strconv.Quote(r.URL.Path) + " is not an agent API path")
	}
	copyHeaders(r.Header, http.Header(m.Header), requestHeaders)
	r.ContentLength = int64(len(m.Data))
	r.RemoteAddr = m.Header.Get(hdrRemote) + " via poller " + poller
	r.RequestURI = path
	return r, poller, nil
}

func copyHeaders(dst, src http.Header, names []string) {
	for _, k := range names {
		if v := src.Get(k); v != "" {
			dst.Set(k, v)
		}
	}
}
