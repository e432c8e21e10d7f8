package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"

	"github.com/conveyor-run/conveyor"
)

// Token is an API token as the gateway checks it: the SHA-256 of the
// secret (the secret itself is never kept), its scopes and, optionally,
// the only algorithms it may submit or call.
type Token struct {
	Name       string
	SHA256     [sha256.Size]byte
	Scopes     []string // submit, read, cancel; admin is all of them
	Algorithms []string // empty: any
	Tenant     string   // stamped on its jobs; it sees only those unless admin
}

// The scopes.
const (
	scopeSubmit  = "submit"
	scopeRead    = "read"
	scopeCancel  = "cancel"
	scopeMetrics = "metrics" // /metrics: every tenant's counts
	scopeAdmin   = "admin"
	scopeNone    = ""  // open to all: health checks
	scopeToken   = "*" // any valid token, whatever its scopes: whoami
)

type tokenKey struct{}

// need wraps h so that, when the gateway has tokens, a request must bear
// one (Authorization: Bearer …) with the scope: 401 without a valid
// token, 403 without the scope.
func (g *Gateway) need(scope string, h http.HandlerFunc) http.HandlerFunc {
	if len(g.cfg.Tokens) == 0 || scope == scopeNone {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		tok := g.authenticate(r)
		switch {
		case tok == nil:
			g.writeError(w, r, conveyor.Errorf(conveyor.EUNAUTHORIZED, "a valid API token is required (Authorization: Bearer …)"))
		case scope != scopeToken && !slices.Contains(tok.Scopes, scope) && !slices.Contains(tok.Scopes, scopeAdmin):
			g.writeError(w, r, conveyor.Errorf(conveyor.EFORBIDDEN, "token %s lacks the %s scope", tok.Name, scope))
		default:
			h(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok)))
		}
	}
}

// authenticate returns the token the request bears, or nil. Every
// configured token is compared, in constant time, whatever matches.
func (g *Gateway) authenticate(r *http.Request) *Token {
	secret, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		return nil
	}
	sum := sha256.Sum256([]byte(secret))
	var found *Token
	for i := range g.cfg.Tokens {
		if subtle.ConstantTimeCompare(sum[:], g.cfg.Tokens[i].SHA256[:]) == 1 {
			found = &g.cfg.Tokens[i]
		}
	}
	return found
}

// bearer returns the credentials of an Authorization header of the Bearer
// scheme, which, as every HTTP auth scheme, is case-insensitive (RFC 9110
// section 11.1): "bearer x" is as good as "Bearer x".
func bearer(header string) (string, bool) {
	scheme, secret, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	secret = strings.TrimLeft(secret, " ")
	return secret, secret != ""
}

// tenantOf returns the tenant whose jobs the request may see, and all when
// it may see every job (no tokens, an admin token, a token without tenant).
func tenantOf(ctx context.Context) (tenant string, all bool) {
	tok, _ := ctx.Value(tokenKey{}).(*Token)
	if tok == nil || tok.Tenant == "" || slices.Contains(tok.Scopes, scopeAdmin) {
		return "", true
	}
	return tok.Tenant, false
}

// visible returns ENOTFOUND for a job of another tenant than the
// request's: a tenant cannot tell another tenant's job from no job.
func visible(ctx context.Context, rec record) error {
	if tenant, all := tenantOf(ctx); !all && rec.tenant != tenant {
		return conveyor.Errorf(conveyor.ENOTFOUND, "job %q not found", rec.id)
	}
	return nil
}

// mayUse returns EFORBIDDEN when the request's token may not submit or
// call algorithm.
func mayUse(ctx context.Context, algorithm string) error {
	tok, _ := ctx.Value(tokenKey{}).(*Token)
	if tok == nil || len(tok.Algorithms) == 0 || slices.Contains(tok.Algorithms, algorithm) || slices.Contains(tok.Scopes, scopeAdmin) {
		return nil
	}
	return conveyor.Errorf(conveyor.EFORBIDDEN, "token %s may not use algorithm %s", tok.Name, algorithm)
}
