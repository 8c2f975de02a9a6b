// Package http is the `http` recovery action: call an automation endpoint
// (Rundeck, AWX, a Lambda function URL, ...). Success is a 2xx answer.
package http

import (
	"bytes"
	"context"
	"fmt"
	"io"
	nethttp "net/http"
	"net/url"
	"strings"
	"text/template"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/recovery/action"
)

// MaxOutput bounds the answer kept.
const MaxOutput = 16 << 10

// Spec configures the action.
type Spec struct {
	URL     string            `yaml:"url" required:"true" help:"the endpoint"`
	Method  string            `yaml:"method" help:"HTTP method (default POST)"`
	Headers map[string]string `yaml:"headers" help:"request headers"`
	Body    string            `yaml:"body" help:"body template (Go text/template: {{.Check}} {{.Host}} {{.Address}} {{.Service}} {{.State}} {{.Output}} {{.Incident}})"`
	Token   check.Secret      `yaml:"token" help:"bearer token (a secret reference)"`
}

func init() {
	action.Register(&action.Kind{Name: "http", Summary: "call an automation endpoint (2xx is success)",
		New: func() action.Spec { return &Spec{Method: "POST"} }})
}

// Validate implements action.Spec.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	if u, err := url.Parse(s.URL); s.URL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		errs = append(errs, check.Errf("url", "must be an http:// or https:// URL"))
	}
	if _, err := template.New("body").Parse(s.Body); err != nil {
		errs = append(errs, check.Errf("body", "template: %v", err))
	}
	if s.Method == "" || strings.ToUpper(s.Method) != s.Method {
		errs = append(errs, check.Errf("method", "must be an upper-case method (POST)"))
	}
	return errs
}

// New implements action.Spec.
func (s *Spec) New(env action.Env) (action.Action, error) {
	tpl, err := template.New("body").Option("missingkey=error").Parse(s.Body)
	if err != nil {
		return nil, err
	}
	c := env.HTTP
	if c == nil {
		c = &nethttp.Client{}
	}
	return &act{spec: *s, body: tpl, client: c}, nil
}

type act struct {
	spec   Spec
	body   *template.Template
	client *nethttp.Client
}

func (a *act) Describe(t action.Target) string {
	u, _ := url.Parse(a.spec.URL)
	shown := a.spec.URL
	if u != nil {
		u.RawQuery, u.User = "", nil // query strings often carry tokens
		shown = u.String()
	}
	return fmt.Sprintf("%s %s", a.spec.Method, shown)
}

func (a *act) Run(ctx context.Context, t action.Target) action.Result {
	if t.DryRun {
		return action.Result{DryRun: true, Output: "dry run: would call " + a.Describe(t)}
	}
	var body bytes.Buffer
	if err := a.body.Execute(&body, t); err != nil {
		return action.Result{ExitCode: -1, Error: "body template: " + err.Error()}
	}
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := nethttp.NewRequestWithContext(ctx, a.spec.Method, a.spec.URL, &body)
	if err != nil {
		return action.Result{ExitCode: -1, Error: err.Error()}
	}
	for k, v := range a.spec.Headers {
		req.Header.Set(k, v)
	}
	if req.Header.Get("Content-Type") == "" && body.Len() > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	if !a.spec.Token.IsZero() {
		req.Header.Set("Authorization", "Bearer "+a.spec.Token.Reveal())
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return action.Result{ExitCode: -1, Error: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, MaxOutput))
	r := action.Result{ExitCode: resp.StatusCode, Output: fmt.Sprintf("HTTP %s\n%s", resp.Status, strings.ToValidUTF8(string(b), "\uFFFD"))}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		r.ExitCode = 0
	} else {
		r.Error = "HTTP " + resp.Status
	}
	return r
}
