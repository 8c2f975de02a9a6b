package awsfake

import (
	"fmt"
	"time"
)

type role struct {
	externalID string
	assumed    int
}

// AddRole lets the fake's keys assume a role, with externalID required when
// not empty. The temporary credentials it hands out are accepted like the
// base keys (with their session token).
func (s *Server) AddRole(arn, externalID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles[arn] = role{externalID: externalID}
}

// Assumed is how many times a role was assumed.
func (s *Server) Assumed(arn string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.roles[arn].assumed
}

// CallsBy is how many calls were signed with an access key (e.g. the
// temporary key of an assumed role, which starts with ASIA).
func (s *Server) CallsBy(accessKey string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byKey[accessKey]
}

func (s *Server) assumeRole(r *Request) (any, error) {
	arn, ext := r.Form.Get("RoleArn"), r.Form.Get("ExternalId")
	s.mu.Lock()
	defer s.mu.Unlock()
	ro, ok := s.roles[arn]
	if !ok || ro.externalID != ext || r.Form.Get("RoleSessionName") == "" {
		return nil, &Error{Status: 403, Code: "AccessDenied", Message: fmt.Sprintf("User: arn:aws:iam::123456789012:user/mamori is not authorized to perform: sts:AssumeRole on resource: %s", arn)}
	}
	ro.assumed++
	s.roles[arn] = ro
	n := len(s.keys)
	ak, sk, tok := fmt.Sprintf("ASIAMAMORI%06d", n), fmt.Sprintf("temp-secret-%d", n), fmt.Sprintf("temp-token-%d", n)
	s.keys[ak] = keyPair{secret: sk, token: tok}
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	return XML(fmt.Sprintf(`<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>`+
		`<AssumedRoleUser><Arn>%s/%s</Arn><AssumedRoleId>AROAMAMORI:%s</AssumedRoleId></AssumedRoleUser>`,
		ak, sk, tok, exp, Escape(arn), Escape(r.Form.Get("RoleSessionName")), Escape(r.Form.Get("RoleSessionName")))), nil
}

func (s *Server) callerIdentity(r *Request) (any, error) {
	return XML(fmt.Sprintf(`<Arn>arn:aws:iam::123456789012:user/mamori</Arn><UserId>%s</UserId><Account>123456789012</Account>`, Escape(r.AccessKey))), nil
}
