package awshealthcheck

// The AWS Health API through the SDK's own parts.
//
// The SDK's generated Health client (github.com/aws/aws-sdk-go-v2/service/health)
// is not available from the module mirror mamori builds against. The two
// read operations the check needs speak AWS JSON 1.1, so this file runs them
// on a Smithy middleware stack assembled from the SDK's pieces, the same
// pieces a generated client is made of: the account's aws.Config
// credentials (assume-role included), the SDK's SigV4 signer, its standard
// retryer (throttling retried with backoff), its response-error and
// request-id middleware, and the account's APIOptions (mamori's call
// counters). No signing or retrying is written here.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

const (
	serviceID   = "Health" // the SDK's service id (IAM prefix "health")
	signingName = "health"
	targetPfx   = "AWSHealth_20160804."
	contentType = "application/x-amz-json-1.1"
)

// Client calls the AWS Health API of one account.
type Client struct {
	cfg           sdkaws.Config
	endpoint      string
	signingRegion string
	signer        *v4.Signer
}

// NewClient makes a Health client from an account's SDK configuration. The
// Health API is global: one endpoint per partition, signed for that
// partition's region (us-east-1 for the commercial one), whatever the
// config's region; cfg.BaseEndpoint (endpoint_url) replaces the endpoint.
func NewClient(cfg sdkaws.Config) *Client {
	endpoint, region := GlobalEndpoint(cfg.Region)
	if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
		endpoint = *cfg.BaseEndpoint
	}
	return &Client{cfg: cfg, endpoint: endpoint, signingRegion: region, signer: v4.NewSigner()}
}

// GlobalEndpoint is the Health endpoint of region's partition and the
// region its requests are signed for.
func GlobalEndpoint(region string) (endpoint, signingRegion string) {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "https://health.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1"
	case strings.HasPrefix(region, "us-gov-"):
		return "https://health.us-gov-west-1.amazonaws.com", "us-gov-west-1"
	}
	return "https://health.us-east-1.amazonaws.com", "us-east-1"
}

// call runs one operation: in is encoded as the JSON body, the answer
// decoded into out. Errors are *smithy.OperationError around the API's
// error (smithy.APIError with its code), as a generated client returns them.
func (c *Client) call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return &smithy.OperationError{ServiceID: serviceID, OperationName: op, Err: &smithy.SerializationError{Err: err}}
	}
	stack := middleware.NewStack(op, smithyhttp.NewStackRequest)
	if err := c.assemble(stack, op, body); err != nil {
		return &smithy.OperationError{ServiceID: serviceID, OperationName: op, Err: err}
	}
	var hc smithyhttp.ClientDo = c.cfg.HTTPClient
	if c.cfg.HTTPClient == nil {
		hc = awshttp.NewBuildableClient()
	}
	res, _, err := middleware.DecorateHandler(smithyhttp.NewClientHandlerWithOptions(hc), stack).Handle(ctx, nil)
	if err != nil {
		return &smithy.OperationError{ServiceID: serviceID, OperationName: op, Err: err}
	}
	raw, _ := res.([]byte)
	if err := json.Unmarshal(raw, out); err != nil {
		return &smithy.OperationError{ServiceID: serviceID, OperationName: op,
			Err: &smithy.DeserializationError{Err: fmt.Errorf("decode %s answer: %w", op, err), Snapshot: snapshot(raw)}}
	}
	return nil
}

// assemble puts the SDK's middleware on the stack in a generated client's
// order: metadata, request, content length and user agent, payload hash,
// retry, signing; on the way back the error wrapper, request id and the
// JSON 1.1 deserializer. The account's APIOptions come last.
func (c *Client) assemble(stack *middleware.Stack, op string, body []byte) error {
	retryer := sdkaws.Retryer(retry.NewStandard())
	if c.cfg.Retryer != nil {
		retryer = c.cfg.Retryer()
	}
	steps := []func() error{
		func() error {
			return stack.Initialize.Add(&awsmiddleware.RegisterServiceMetadata{ServiceID: serviceID, SigningName: signingName,
				Region: c.signingRegion, OperationName: op}, middleware.Before)
		},
		func() error {
			return stack.Serialize.Add(&serializer{endpoint: c.endpoint, op: op, body: body}, middleware.After)
		},
		func() error { return smithyhttp.AddComputeContentLengthMiddleware(stack) },
		func() error { return awsmiddleware.AddRequestUserAgentMiddleware(stack) },
		func() error { return stack.Finalize.Add(&v4.ComputePayloadSHA256{}, middleware.After) },
		func() error { return stack.Finalize.Add(&signing{c: c}, middleware.After) },
		func() error {
			return retry.AddRetryMiddlewares(stack, retry.AddRetryMiddlewaresOptions{Retryer: retryer})
		},
		func() error { return stack.Deserialize.Add(deserializer{}, middleware.After) },
		func() error { return awsmiddleware.AddRequestIDRetrieverMiddleware(stack) },
		func() error { return awshttp.AddResponseErrorMiddleware(stack) },
	}
	for _, add := range steps {
		if err := add(); err != nil {
			return err
		}
	}
	for _, fn := range c.cfg.APIOptions {
		if err := fn(stack); err != nil {
			return err
		}
	}
	return nil
}

// serializer makes the JSON 1.1 request: POST / with the operation in
// X-Amz-Target.
type serializer struct {
	endpoint, op string
	body         []byte
}

func (*serializer) ID() string { return "OperationSerializer" }

func (s *serializer) HandleSerialize(ctx context.Context, in middleware.SerializeInput, next middleware.SerializeHandler) (middleware.SerializeOutput, middleware.Metadata, error) {
	req, ok := in.Request.(*smithyhttp.Request)
	if !ok {
		return middleware.SerializeOutput{}, middleware.Metadata{}, &smithy.SerializationError{Err: fmt.Errorf("unexpected transport type %T", in.Request)}
	}
	u, err := url.Parse(s.endpoint)
	if err != nil || u.Host == "" {
		return middleware.SerializeOutput{}, middleware.Metadata{}, &smithy.SerializationError{Err: fmt.Errorf("endpoint %q is not a URL", s.endpoint)}
	}
	if u.Path == "" {
		u.Path = "/"
	}
	req.URL, req.Method = u, http.MethodPost
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Amz-Target", targetPfx+s.op)
	if req, err = req.SetStream(bytes.NewReader(s.body)); err != nil {
		return middleware.SerializeOutput{}, middleware.Metadata{}, &smithy.SerializationError{Err: err}
	}
	in.Request = req
	return next.HandleSerialize(ctx, in)
}

// signing signs each attempt with the SDK's SigV4 signer and the account's
// credentials (ID "Signing": the retry middleware goes before it).
type signing struct{ c *Client }

func (*signing) ID() string { return "Signing" }

func (s *signing) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	req, ok := in.Request.(*smithyhttp.Request)
	if !ok {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, &v4.SigningError{Err: fmt.Errorf("unexpected transport type %T", in.Request)}
	}
	if s.c.cfg.Credentials == nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("failed to retrieve credentials: no credentials configured")
	}
	creds, err := s.c.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("failed to retrieve credentials: %w", err)
	}
	err = s.c.signer.SignHTTP(ctx, creds, req.Request, v4.GetPayloadHash(ctx), signingName, s.c.signingRegion, time.Now().UTC())
	if err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, &v4.SigningError{Err: err}
	}
	return next.HandleFinalize(ctx, in)
}

// deserializer reads the answer: the body on 2xx, else the JSON 1.1 error
// document as a smithy.GenericAPIError (code from X-Amzn-ErrorType or
// __type, without namespace or URL).
type deserializer struct{}

func (deserializer) ID() string { return "OperationDeserializer" }

func (deserializer) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	out, md, err := next.HandleDeserialize(ctx, in)
	if err != nil {
		return out, md, err
	}
	resp, ok := out.RawResponse.(*smithyhttp.Response)
	if !ok {
		return out, md, &smithy.DeserializationError{Err: fmt.Errorf("unexpected transport response %T", out.RawResponse)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return out, md, &smithy.DeserializationError{Err: fmt.Errorf("read answer: %w", err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return out, md, apiError(resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b)
	}
	out.Result = b
	return out, md, nil
}

func apiError(status int, header string, body []byte) error {
	var doc struct {
		Type    string `json:"__type"`
		Code    string `json:"code"`
		Message string `json:"message"`
		Msg     string `json:"Message"`
	}
	_ = json.Unmarshal(body, &doc)
	code := header
	for _, c := range []string{doc.Type, doc.Code} {
		if code == "" {
			code = c
		}
	}
	code, _, _ = strings.Cut(code, ":")
	if i := strings.LastIndex(code, "#"); i >= 0 {
		code = code[i+1:]
	}
	if code == "" {
		code = fmt.Sprintf("HTTP%d", status)
	}
	msg := doc.Message
	if msg == "" {
		msg = doc.Msg
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	fault := smithy.FaultClient
	if status >= 500 {
		fault = smithy.FaultServer
	}
	return &smithy.GenericAPIError{Code: code, Message: msg, Fault: fault}
}

func snapshot(b []byte) []byte {
	if len(b) > 1024 {
		return b[:1024]
	}
	return b
}

// epoch is a JSON 1.1 timestamp: seconds since 1970 (a number, maybe
// fractional).
type epoch struct{ time.Time }

func (e *epoch) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err == nil {
		sec, frac := math.Modf(f)
		e.Time = time.Unix(int64(sec), int64(frac*1e9)).UTC()
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return fmt.Errorf("timestamp %s is neither epoch seconds nor text", s)
	}
	t, err := time.Parse(time.RFC3339Nano, str)
	if err != nil {
		return fmt.Errorf("timestamp %q: %w", str, err)
	}
	e.Time = t
	return nil
}
