package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// forwardHeader carries, from a follower to the leader, the address of the
// client whose request the follower forwards: "ADDR;UNIX;MAC", MAC being
// an HMAC-SHA256 over the address, the time, the method and the path with
// a key derived from the signing key every server of the database shares.
const forwardHeader = "X-Mamori-Forwarded"

// forwardSkew is how far a forwarded address's time may be from the
// leader's clock.
const forwardSkew = 60 * time.Second

// forwardKey derives the key of forwarded addresses from the shared
// signing key (a key of its own: a MAC never doubles as a session's).
func forwardKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("mamori forwarded client address v1"))
	return m.Sum(nil)
}

func forwardMAC(key []byte, addr, unix, method, path string) []byte {
	m := hmac.New(sha256.New, key)
	for _, s := range []string{addr, unix, method, path} {
		m.Write([]byte(s))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// signForward is the header value for a request from addr (host:port).
func signForward(key []byte, addr, method, path string, now time.Time) string {
	unix := strconv.FormatInt(now.Unix(), 10)
	return addr + ";" + unix + ";" + hex.EncodeToString(forwardMAC(key, addr, unix, method, path))
}

// verifyForward returns the client address of a header value when its MAC
// verifies for this method and path and its time is within forwardSkew.
func verifyForward(key []byte, v, method, path string, now time.Time) (string, bool) {
	parts := strings.Split(v, ";")
	if len(parts) != 3 {
		return "", false
	}
	addr, unix, mac := parts[0], parts[1], parts[2]
	sec, err := strconv.ParseInt(unix, 10, 64)
	if err != nil {
		return "", false
	}
	if d := now.Sub(time.Unix(sec, 0)); d > forwardSkew || d < -forwardSkew {
		return "", false
	}
	got, err := hex.DecodeString(mac)
	if err != nil || !hmac.Equal(got, forwardMAC(key, addr, unix, method, path)) {
		return "", false
	}
	if _, err := netip.ParseAddrPort(addr); err != nil {
		return "", false
	}
	return addr, true
}
