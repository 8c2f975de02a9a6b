package agent

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/wire"
)

// Client is the agent's only HTTP client: the four routes of the wire
// protocol, with the host's token on every request.
type Client struct {
	base  *url.URL
	token string
	ua    string
	hc    *http.Client // hello, batch, respond
	poll  *http.Client // long polls (no overall timeout; the context bounds them)
}

// HTTPError is a non-2xx answer.
type HTTPError struct {
	Route  string
	Status int
	Body   string
	// RetryAfter is the wait the answer's Retry-After header asks for
	// (0: none): a poller whose link is down, a follower without a
	// leader, a server whose store is busy.
	RetryAfter time.Duration
}

// retryAfter reads a Retry-After value: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s: HTTP %d %s", e.Route, e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	switch e.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		msg += " (is the token right? `mamori host add NAME` prints it)"
	case http.StatusUpgradeRequired:
		msg += fmt.Sprintf(" (the server does not speak agent protocol version %d: upgrade the agent or the server)", wire.Version)
	}
	return msg
}

// Permanent reports whether sending the same request again cannot succeed
// (a rejected batch), as opposed to an outage or an auth problem that an
// operator will fix while the agent keeps spooling.
func (e *HTTPError) Permanent() bool {
	switch e.Status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// NewClient builds the client from the local config (TLS: ca_file,
// client_cert/client_key, insecure_skip_verify).
func NewClient(cfg Config, userAgent string) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(cfg.Server, "/"))
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // operator's choice, documented
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if cfg.ClientCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.ClientCert, cfg.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("client_cert/client_key: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 0, // long polls wait; contexts bound every request
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &Client{
		base:  u,
		token: cfg.Token.Reveal(),
		ua:    userAgent,
		hc:    &http.Client{Transport: tr, Timeout: 60 * time.Second},
		poll:  &http.Client{Transport: tr},
	}, nil
}

func (c *Client) url(route string) string { return c.base.String() + "/api/v1/agent/" + route }

func (c *Client) do(hc *http.Client, req *http.Request, route string, out any) (int, error) {
	req.Header.Set("Authorization", "Bearer "+c.token)
	if c.ua != "" {
		req.Header.Set("User-Agent", c.ua)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s: reading the answer: %w", route, err)
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, &HTTPError{Route: route, Status: resp.StatusCode, Body: oneLine(string(body), 300),
			RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s: bad answer: %w", route, err)
		}
	}
	return resp.StatusCode, nil
}

func postJSON(ctx context.Context, u string, v any) (*http.Request, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

// Hello introduces the agent and returns what the server wants it to do.
func (c *Client) Hello(ctx context.Context, h wire.Hello) (wire.AgentConfig, error) {
	var ac wire.AgentConfig
	req, err := postJSON(ctx, c.url("hello"), h)
	if err != nil {
		return ac, err
	}
	_, err = c.do(c.hc, req, "hello", &ac)
	return ac, err
}

// SendBatch posts a gzip-compressed JSON batch.
func (c *Client) SendBatch(ctx context.Context, gz []byte) (wire.BatchAck, error) {
	var ack wire.BatchAck
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url("batch"), bytes.NewReader(gz))
	if err != nil {
		return ack, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	_, err = c.do(c.hc, req, "batch", &ack)
	return ack, err
}

// Poll waits up to wait for a server request; nil when there is none.
func (c *Client) Poll(ctx context.Context, wait time.Duration) (*wire.Request, error) {
	ctx, cancel := context.WithTimeout(ctx, wait+30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url("poll")+"?wait="+url.QueryEscape(wait.String()), nil)
	if err != nil {
		return nil, err
	}
	var r wire.Request
	status, err := c.do(c.poll, req, "poll", &r)
	if err != nil || status == http.StatusNoContent {
		return nil, err
	}
	if r.ID == "" {
		return nil, errors.New("poll: a request without id")
	}
	return &r, nil
}

// Respond sends the outcome of a request.
func (c *Client) Respond(ctx context.Context, r wire.Response) error {
	req, err := postJSON(ctx, c.url("respond"), r)
	if err != nil {
		return err
	}
	_, err = c.do(c.hc, req, "respond", nil)
	return err
}

// gzip writers are big (about 1 MB of state): reuse them.
var gzPool = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return zw
}}

// encodeBatch is the gzip-compressed JSON of b.
func encodeBatch(b *wire.Batch) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzPool.Get().(*gzip.Writer)
	defer gzPool.Put(zw)
	zw.Reset(&buf)
	if err := json.NewEncoder(zw).Encode(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeBatch reads what encodeBatch wrote.
func decodeBatch(gz []byte) (*wire.Batch, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	var b wire.Batch
	if err := json.NewDecoder(io.LimitReader(zr, wire.MaxBatchBytes+1)).Decode(&b); err != nil {
		return nil, err
	}
	return &b, nil
}

func oneLine(s string, max int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
