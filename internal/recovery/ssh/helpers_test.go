package ssh

import (
	"crypto/ed25519"
	"crypto/rand"
	"strconv"
	"testing"

	xssh "golang.org/x/crypto/ssh"
)

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func generateKey(t *testing.T) (ed25519.PrivateKey, xssh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := xssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return priv, s, nil
}
