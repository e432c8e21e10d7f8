package gateway

import (
	"net/http"
	"slices"
)

// Identity is the answer of GET /v1/whoami: who the request's token is and
// what it may do, so that a client such as the dashboard can offer only
// what the token may take.
type Identity struct {
	// Open is true when the gateway has no tokens: every request may do
	// everything, and the other fields are empty but Scopes (admin).
	Open bool `json:"open,omitempty"`
	// Name is the token's name in the config.
	Name string `json:"name,omitempty"`
	// Tenant is stamped on the jobs the token submits; it then sees only
	// its tenant's jobs, unless admin.
	Tenant string `json:"tenant,omitempty"`
	// Scopes are the token's scopes: submit, read, cancel, admin (all).
	Scopes []string `json:"scopes"`
	// Algorithms are the only algorithms the token may submit or call;
	// empty: any.
	Algorithms []string `json:"algorithms,omitempty"`
}

// handleWhoami is GET /v1/whoami: the identity of the request's token,
// which any valid token may read whatever its scopes; 401 without one.
func (g *Gateway) handleWhoami(w http.ResponseWriter, r *http.Request) {
	tok, _ := r.Context().Value(tokenKey{}).(*Token)
	if tok == nil { // no tokens configured: need let the request through
		writeJSON(w, http.StatusOK, Identity{Open: true, Scopes: []string{scopeAdmin}})
		return
	}
	writeJSON(w, http.StatusOK, Identity{
		Name: tok.Name, Tenant: tok.Tenant,
		Scopes: slices.Clone(tok.Scopes), Algorithms: slices.Clone(tok.Algorithms),
	})
}
