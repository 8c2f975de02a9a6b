package awsfake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// authHeader is a parsed SigV4 Authorization header.
type authHeader struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
}

func parseAuth(h string) (authHeader, error) {
	var a authHeader
	rest, ok := strings.CutPrefix(h, "AWS4-HMAC-SHA256 ")
	if !ok {
		return a, fmt.Errorf("authorization is not AWS4-HMAC-SHA256")
	}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" {
				return a, fmt.Errorf("malformed credential scope %q", v)
			}
			a.accessKey, a.date, a.region, a.service = f[0], f[1], f[2], f[3]
		case "SignedHeaders":
			a.signedHeaders = strings.Split(v, ";")
		case "Signature":
			a.signature = v
		}
	}
	if a.accessKey == "" || a.signature == "" || len(a.signedHeaders) == 0 {
		return a, fmt.Errorf("authorization lacks Credential, SignedHeaders or Signature")
	}
	return a, nil
}

// verify recomputes the request's SigV4 signature with the SDK's own signer
// from the headers the client said it signed, and compares.
func (s *Server) verify(r *http.Request, body []byte) (authHeader, *Error) {
	a, err := parseAuth(r.Header.Get("Authorization"))
	if err != nil {
		return a, &Error{Status: 403, Code: "MissingAuthenticationToken", Message: err.Error()}
	}
	s.mu.Lock()
	key, ok := s.keys[a.accessKey]
	s.mu.Unlock()
	if !ok {
		return a, &Error{Status: 403, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."}
	}
	if key.token != "" && r.Header.Get("X-Amz-Security-Token") != key.token {
		return a, &Error{Status: 403, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."}
	}
	if !s.regionOK(a.region) {
		return a, &Error{Status: 403, Code: "SignatureDoesNotMatch", Message: fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", a.region)}
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || when.Format("20060102") != a.date {
		return a, &Error{Status: 403, Code: "IncompleteSignature", Message: "X-Amz-Date missing or not the credential scope's date"}
	}
	if d := time.Since(when); d > 15*time.Minute || d < -15*time.Minute {
		return a, &Error{Status: 403, Code: "SignatureDoesNotMatch", Message: "Signature expired: request time too far from the server's"}
	}
	want, err := s.sign(r, body, a, key, when)
	if err != nil {
		return a, &Error{Status: 400, Code: "IncompleteSignature", Message: err.Error()}
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(a.signature)) != 1 {
		return a, &Error{Status: 403, Code: "SignatureDoesNotMatch", Message: "The request signature we calculated does not match the signature you provided."}
	}
	return a, nil
}

func (s *Server) sign(r *http.Request, body []byte, a authHeader, key keyPair, when time.Time) (string, error) {
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	c, err := http.NewRequestWithContext(context.Background(), r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	c.Host = r.Host
	c.Header = http.Header{}
	c.ContentLength = 0
	for _, h := range a.signedHeaders {
		switch h {
		case "host":
		case "content-length":
			c.ContentLength = r.ContentLength
		default:
			vs, ok := r.Header[http.CanonicalHeaderKey(h)]
			if !ok {
				return "", fmt.Errorf("signed header %q is missing", h)
			}
			c.Header[http.CanonicalHeaderKey(h)] = vs
		}
	}
	hash := r.Header.Get("X-Amz-Content-Sha256")
	if hash == "" {
		sum := sha256.Sum256(body)
		hash = hex.EncodeToString(sum[:])
	}
	creds := sdkaws.Credentials{AccessKeyID: a.accessKey, SecretAccessKey: key.secret, SessionToken: key.token}
	err = v4.NewSigner().SignHTTP(context.Background(), creds, c, hash, a.service, a.region, when, func(o *v4.SignerOptions) {
		o.DisableURIPathEscaping = a.service == "s3"
	})
	if err != nil {
		return "", err
	}
	got, err := parseAuth(c.Header.Get("Authorization"))
	if err != nil {
		return "", err
	}
	if strings.Join(got.signedHeaders, ";") != strings.Join(a.signedHeaders, ";") {
		return "", fmt.Errorf("signed headers %v do not match the request's %v", a.signedHeaders, got.signedHeaders)
	}
	return got.signature, nil
}
