package alerting

import "encoding/base64"

func encodeWho(who string) string { return base64.RawURLEncoding.EncodeToString([]byte(who)) }

func decodeWho(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return string(b), err
}
