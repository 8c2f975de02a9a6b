// Package aws_ec2 is the `aws_ec2` recovery action: reboot (or start) an
// EC2 instance through the EC2 Query API, signed with AWS Signature
// Version 4. The endpoint is configurable (VPC endpoints, test servers).
package aws_ec2

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/recovery/action"
)

// APIVersion is the EC2 Query API version sent.
const APIVersion = "2016-11-15"

// Spec configures the action.
type Spec struct {
	InstanceID      string       `yaml:"instance_id" required:"true" help:"the instance (i-0123456789abcdef0)"`
	Region          string       `yaml:"region" required:"true" help:"its region (ap-northeast-1)"`
	Operation       string       `yaml:"operation" help:"reboot or start (default reboot)"`
	Endpoint        string       `yaml:"endpoint" help:"API endpoint (default https://ec2.REGION.amazonaws.com/)"`
	AccessKeyID     check.Secret `yaml:"access_key_id" required:"true" help:"access key id (a secret reference, e.g. ${AWS_ACCESS_KEY_ID})"`
	SecretAccessKey check.Secret `yaml:"secret_access_key" required:"true" help:"secret access key (a secret reference)"`
	SessionToken    check.Secret `yaml:"session_token" help:"session token for temporary credentials"`
}

var (
	instanceRE = regexp.MustCompile(`^i-[0-9a-f]{8,17}$`)
	regionRE   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
)

func init() {
	action.Register(&action.Kind{Name: "aws_ec2", Summary: "reboot or start an EC2 instance (EC2 API, SigV4)",
		New: func() action.Spec { return &Spec{Operation: "reboot"} }})
}

// Validate implements action.Spec.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	if s.InstanceID != "" && !instanceRE.MatchString(s.InstanceID) {
		errs = append(errs, check.Errf("instance_id", "%q is not an instance id (i-0123456789abcdef0)", s.InstanceID))
	}
	if s.Region != "" && !regionRE.MatchString(s.Region) {
		errs = append(errs, check.Errf("region", "%q is not a region (ap-northeast-1)", s.Region))
	}
	if s.Operation != "reboot" && s.Operation != "start" {
		errs = append(errs, check.Errf("operation", "must be reboot or start"))
	}
	if s.Endpoint != "" {
		if u, err := url.Parse(s.Endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, check.Errf("endpoint", "must be an http(s) URL"))
		}
	}
	return errs
}

// New implements action.Spec.
func (s *Spec) New(env action.Env) (action.Action, error) {
	c := env.HTTP
	if c == nil {
		c = &http.Client{}
	}
	now := time.Now
	if env.Now != nil {
		now = env.Now
	}
	ep := s.Endpoint
	if ep == "" {
		ep = "https://ec2." + s.Region + ".amazonaws.com/"
	}
	return &act{spec: *s, endpoint: ep, client: c, now: now}, nil
}

type act struct {
	spec     Spec
	endpoint string
	client   *http.Client
	now      func() time.Time
}

func (a *act) apiAction() string {
	if a.spec.Operation == "start" {
		return "StartInstances"
	}
	return "RebootInstances"
}

func (a *act) Describe(action.Target) string {
	return fmt.Sprintf("EC2 %s %s (%s)", a.apiAction(), a.spec.InstanceID, a.spec.Region)
}

func (a *act) Run(ctx context.Context, t action.Target) action.Result {
	if t.DryRun {
		return action.Result{DryRun: true, Output: "dry run: would call " + a.Describe(t)}
	}
	timeout := t.Timeout
	if timeout <= 0 || timeout > 2*time.Minute {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	form := url.Values{"Action": {a.apiAction()}, "InstanceId.1": {a.spec.InstanceID}, "Version": {APIVersion}}
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.endpoint, strings.NewReader(body))
	if err != nil {
		return action.Result{ExitCode: -1, Error: err.Error()}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	Sign(req, []byte(body), Credentials{AccessKeyID: a.spec.AccessKeyID.Reveal(), SecretAccessKey: a.spec.SecretAccessKey.Reveal(),
		SessionToken: a.spec.SessionToken.Reveal()}, a.spec.Region, "ec2", a.now())
	resp, err := a.client.Do(req)
	if err != nil {
		return action.Result{ExitCode: -1, Error: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	r := action.Result{ExitCode: resp.StatusCode, Output: fmt.Sprintf("HTTP %s\n%s", resp.Status, strings.ToValidUTF8(string(b), "\uFFFD"))}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		r.ExitCode = 0
	} else {
		r.Error = "EC2 API: HTTP " + resp.Status + errorCode(string(b))
	}
	return r
}

var codeRE = regexp.MustCompile(`<Code>([^<]+)</Code>`)

func errorCode(body string) string {
	if m := codeRE.FindStringSubmatch(body); m != nil {
		return " " + m[1]
	}
	return ""
}

// Credentials sign requests.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// Sign adds AWS Signature Version 4 headers (X-Amz-Date, Authorization and,
// with a session token, X-Amz-Security-Token) to req, whose body is body.
func Sign(req *http.Request, body []byte, c Credentials, region, service string, now time.Time) {
	now = now.UTC()
	amzDate := now.Format("20060102T150405Z")
	day := now.Format("20060102")
	req.Header.Set("X-Amz-Date", amzDate)
	if c.SessionToken != "" {
		req.Header.Set("X-Amz-Security-Token", c.SessionToken)
	}
	host := req.URL.Host
	if req.Host != "" {
		host = req.Host
	}
	// Signed headers: host plus every x-amz-* and content-type, sorted.
	headers := map[string]string{"host": host}
	for k, v := range req.Header {
		lk := strings.ToLower(k)
		if lk == "content-type" || strings.HasPrefix(lk, "x-amz-") {
			headers[lk] = strings.Join(strings.Fields(strings.Join(v, ",")), " ")
		}
	}
	names := make([]string, 0, len(headers))
	for k := range headers {
		names = append(names, k)
	}
	sort.Strings(names)
	var canonHeaders strings.Builder
	for _, k := range names {
		canonHeaders.WriteString(k + ":" + headers[k] + "\n")
	}
	signed := strings.Join(names, ";")
	path := req.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	canonical := strings.Join([]string{req.Method, path, canonicalQuery(req.URL.Query()), canonHeaders.String(), signed, hexSHA(body)}, "\n")
	scope := day + "/" + region + "/" + service + "/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hexSHA([]byte(canonical))
	k := hmacSHA([]byte("AWS4"+c.SecretAccessKey), day)
	k = hmacSHA(k, region)
	k = hmacSHA(k, service)
	k = hmacSHA(k, "aws4_request")
	sig := hex.EncodeToString(hmacSHA(k, toSign))
	req.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s", c.AccessKeyID, scope, signed, sig))
}

func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			parts = append(parts, awsEscape(k)+"="+awsEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

func awsEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func hexSHA(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func hmacSHA(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
