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
// client whose request the follower forwards: "ADDR;UNIX;CERT;MAC", CERT
// "1" when the follower verified the client's certificate against its
// tls.client_ca_file ("0" otherwise), MAC an HMAC-SHA256 over the address,
// the time, CERT, the method and the path with a key derived from the
// signing key every server of the database shares.
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

// forwarded is what a verified header says of the client.
type forwarded struct {
	addr string // host:port
	cert bool   // the follower verified its client certificate
}

func forwardMAC(key []byte, addr, unix, cert, method, path string) []byte {
	m := hmac.New(sha256.New, key)
	for _, s := range []string{addr, unix, cert, method, path} {
		m.Write([]byte(s))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// signForward is the header value for a request from c.
func signForward(key []byte, c forwarded, method, path string, now time.Time) string {
	unix, cert := strconv.FormatInt(now.Unix(), 10), "0"
	if c.cert {
		cert = "1"
	}
	return c.addr + ";" + unix + ";" + cert + ";" + hex.EncodeToString(forwardMAC(key, c.addr, unix, cert, method, path))
}

// verifyForward reads a header value whose MAC verifies for this method
// and path and whose time is within forwardSkew.
func verifyForward(key []byte, v, method, path string, now time.Time) (forwarded, bool) {
	parts := strings.Split(v, ";")
	if len(parts) != 4 || (parts[2] != "0" && parts[2] != "1") {
		return forwarded{}, false
	}
	addr, unix, cert, mac := parts[0], parts[1], parts[2], parts[3]
	sec, err := strconv.ParseInt(unix, 10, 64)
	if err != nil {
		return forwarded{}, false
	}
	if d := now.Sub(time.Unix(sec, 0)); d > forwardSkew || d < -forwardSkew {
		return forwarded{}, false
	}
	got, err := hex.DecodeString(mac)
	if err != nil || !hmac.Equal(got, forwardMAC(key, addr, unix, cert, method, path)) {
		return forwarded{}, false
	}
	if _, err := netip.ParseAddrPort(addr); err != nil {
		return forwarded{}, false
	}
	return forwarded{addr: addr, cert: cert == "1"}, true
}
