package app

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"testing"

	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/gateway"
)

// TestWhoami checks GET /v1/whoami, which the dashboard asks to learn
// whether it needs a token and what the token may do: any valid token may
// ask, whatever its scopes; no token or a wrong one is a 401; without
// tokens configured the API says it is open.
func TestWhoami(t *testing.T) {
	readerSum := sha256.Sum256([]byte("whoami-reader"))
	submitterSum := sha256.Sum256([]byte("whoami-submitter"))
	cfg := testConfig(t, t.TempDir())
	cfg.Auth.Tokens = []config.Token{
		{Name: "viewer", TokenSHA256: hex.EncodeToString(readerSum[:]), Scopes: []string{"read"}, Tenant: "acme"},
		{Name: "ci", TokenSHA256: hex.EncodeToString(submitterSum[:]), Scopes: []string{"submit"}, Algorithms: []string{"is_prime"}},
	}
	s := startServer(t, cfg)
	whoami := func(base, token string) (int, gateway.Identity) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/v1/whoami", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var id gateway.Identity
		if resp.StatusCode == 200 {
			if err := jsonDecode(resp, &id); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, id
	}
	if code, _ := whoami(s.base, ""); code != 401 {
		t.Errorf("whoami without a token: %d, want 401", code)
	}
	if code, _ := whoami(s.base, "not-a-token"); code != 401 {
		t.Errorf("whoami with a wrong token: %d, want 401", code)
	}
	code, id := whoami(s.base, "whoami-reader")
	if code != 200 || id.Open || id.Name != "viewer" || id.Tenant != "acme" || !slices.Equal(id.Scopes, []string{"read"}) || len(id.Algorithms) != 0 {
		t.Errorf("reader: %d %+v", code, id)
	}
	// A token without the read scope still learns who it is.
	code, id = whoami(s.base, "whoami-submitter")
	if code != 200 || id.Name != "ci" || !slices.Equal(id.Scopes, []string{"submit"}) || !slices.Equal(id.Algorithms, []string{"is_prime"}) {
		t.Errorf("submitter: %d %+v", code, id)
	}

	open := startServer(t, testConfig(t, t.TempDir()))
	if code, id := whoami(open.base, ""); code != 200 || !id.Open || !slices.Equal(id.Scopes, []string{"admin"}) {
		t.Errorf("without tokens: %d %+v, want open with admin", code, id)
	}
}
