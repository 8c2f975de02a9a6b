package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"

	"github.com/mamori/mamori/internal/auth"
)

// Role is what a caller may do.
type Role string

// Roles, from most to least powerful.
const (
	RoleAdmin    Role = "admin"
	RoleOperator Role = "operator"
	RoleCustomer Role = "customer"
	RoleViewer   Role = "viewer"
)

func (r Role) rank() int {
	switch r {
	case RoleAdmin:
		return 4
	case RoleOperator:
		return 3
	case RoleCustomer:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// AtLeast reports whether r is as powerful as min.
func (r Role) AtLeast(min Role) bool { return r.rank() >= min.rank() }

// Principal is an authenticated caller.
type Principal struct {
	Name   string
	Role   Role
	Tenant string // "" = all tenants (admin, operator)
}

// Sees reports whether p may see an object of tenant t.
func (p Principal) Sees(tenant string) bool { return p.Tenant == "" || p.Tenant == tenant }

// Token is a bearer token and who it stands for.
type Token struct {
	Secret string
	Principal
}

// Tokens authenticates bearer tokens in constant time per token.
type Tokens struct {
	list []tokenHash
}

type tokenHash struct {
	sum [32]byte
	p   Principal
}

// NewTokens indexes tokens; empty secrets are ignored.
func NewTokens(ts []Token) *Tokens {
	t := &Tokens{}
	for _, tok := range ts {
		if tok.Secret == "" {
			continue
		}
		t.list = append(t.list, tokenHash{sha256.Sum256([]byte(tok.Secret)), tok.Principal})
	}
	return t
}

// Lookup finds the principal of a token.
func (t *Tokens) Lookup(secret string) (Principal, bool) {
	sum := sha256.Sum256([]byte(secret))
	var found Principal
	ok := false
	for _, th := range t.list { // no early exit: time does not depend on which token matched
		if subtle.ConstantTimeCompare(sum[:], th.sum[:]) == 1 {
			found, ok = th.p, true
		}
	}
	return found, ok
}

// UserTokens authenticates the per-user API tokens of `mamori token
// create`; *auth.Service implements it.
type UserTokens interface {
	LookupToken(ctx context.Context, plain string) (auth.User, bool)
}

type ctxKey struct{}

// PrincipalFrom returns the caller of a request.
func PrincipalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(ctxKey{}).(Principal)
	return p
}

// authenticate requires a valid bearer token on every request it wraps.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := auth.BearerToken(r)
		if !ok || secret == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mamori"`)
			writeError(w, http.StatusUnauthorized, "authentication required: send Authorization: Bearer TOKEN")
			return
		}
		p, ok := s.tokens().Lookup(secret)
		if !ok && s.users != nil && auth.LooksLikeToken(secret) {
			if u, found := s.users.LookupToken(r.Context(), secret); found {
				p, ok = Principal{Name: u.Name, Role: Role(u.Role), Tenant: u.Tenant}, true
			}
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mamori", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid token")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, p)))
	})
}

// require wraps a handler with a minimum role.
func require(min Role, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !PrincipalFrom(r.Context()).Role.AtLeast(min) {
			writeError(w, http.StatusForbidden, "this needs the "+string(min)+" role")
			return
		}
		h(w, r)
	}
}
