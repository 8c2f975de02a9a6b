package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id parameters.
type Params struct {
	Time      uint32 // passes
	MemoryKiB uint32 // memory in KiB
	Threads   uint8
	SaltLen   uint32
	KeyLen    uint32
}

// DefaultParams: argon2id with 64 MiB, 1 pass, 2 lanes — above the OWASP
// minimums (19 MiB/t=2 or 46 MiB/t=1, p=1); about 50–100 ms on a server core.
var DefaultParams = Params{Time: 1, MemoryKiB: 64 * 1024, Threads: 2, SaltLen: 16, KeyLen: 32}

// Password policy.
const (
	MinPasswordLen = 12   // characters
	MaxPasswordLen = 1024 // bytes
)

// Limits on parameters read back from a stored hash, so that a tampered row
// cannot make a login allocate gigabytes or spin for minutes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 16
)

var b64 = base64.RawStdEncoding

// HashPassword hashes a password with argon2id and a random salt, as a PHC
// string: $argon2id$v=19$m=65536,t=1,p=2$SALT$HASH.
func HashPassword(password string, p Params) (string, error) {
	p = p.norm()
	if p.Time == 0 || p.MemoryKiB < 8*uint32(p.Threads) || p.Threads == 0 {
		return "", fmt.Errorf("auth: bad argon2 parameters %+v", p)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

func (p Params) norm() Params {
	if p.SaltLen == 0 {
		p.SaltLen = 16
	}
	if p.KeyLen == 0 {
		p.KeyLen = 32
	}
	return p
}

var errBadHash = errors.New("auth: not an argon2id hash")

// decodeHash parses a PHC argon2id string.
func decodeHash(encoded string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, fmt.Errorf("auth: unsupported argon2 version %q", parts[2])
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &threads); err != nil {
		return p, nil, nil, errBadHash
	}
	if p.Time == 0 || p.Time > maxTime || p.MemoryKiB == 0 || p.MemoryKiB > maxMemoryKiB || threads == 0 || threads > 255 {
		return p, nil, nil, fmt.Errorf("auth: argon2 parameters out of range in %q", parts[3])
	}
	p.Threads = uint8(threads)
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 || len(salt) > 64 {
		return p, nil, nil, errBadHash
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errBadHash
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// VerifyPassword compares a password with a stored hash in constant time.
// stale reports that the hash uses other parameters than want (rehash it).
func VerifyPassword(encoded, password string, want Params) (ok, stale bool, err error) {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	ok = subtle.ConstantTimeCompare(got, key) == 1
	want = want.norm()
	stale = p.Time != want.Time || p.MemoryKiB != want.MemoryKiB || p.Threads != want.Threads || p.KeyLen != want.KeyLen
	return ok, stale, nil
}

// CheckPasswordPolicy enforces the password policy: at least 12 characters,
// at most 1024 bytes, not the user name.
func CheckPasswordPolicy(name, password string) error {
	switch {
	case !utf8.ValidString(password):
		return errors.New("the password is not valid UTF-8")
	case utf8.RuneCountInString(password) < MinPasswordLen:
		return fmt.Errorf("the password must have at least %d characters", MinPasswordLen)
	case len(password) > MaxPasswordLen:
		return fmt.Errorf("the password must have at most %d bytes", MaxPasswordLen)
	case strings.EqualFold(strings.TrimSpace(password), name):
		return errors.New("the password must not be the user name")
	case strings.Count(password, password[:1]) == len(password):
		return errors.New("the password must not repeat one character")
	}
	return nil
}

// GeneratePassword returns a random password with 130 bits of entropy:
// 26 characters of base32 (A–Z, 2–7).
func GeneratePassword() string { return rand.Text() }
