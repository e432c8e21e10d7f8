package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"strings"
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

// TestDashboardShellPublic checks what SECURITY.md says of the dashboard
// under tokens: its static files (the page, script, style and icon) are
// served without a token, so that its login form can load, and they are
// the same bytes whoever asks — they carry no data; every job, algorithm
// and runner comes from the API, which needs the token. Only the
// dashboard's own script may run on its page, which keeps the token.
func TestDashboardShellPublic(t *testing.T) {
	sum := sha256.Sum256([]byte("shell-reader"))
	cfg := testConfig(t, t.TempDir())
	cfg.Auth.Tokens = []config.Token{{Name: "viewer", TokenSHA256: hex.EncodeToString(sum[:]), Scopes: []string{"read"}}}
	s := startServer(t, cfg)
	get := func(path, token string) (int, string, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", s.base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), b
	}
	for _, path := range []string{"/", "/ui/app.js", "/ui/style.css", "/ui/icon.svg", "/favicon.ico"} {
		code, _, anon := get(path, "")
		if code != 200 {
			t.Errorf("GET %s without a token: %d, want 200", path, code)
			continue
		}
		if _, _, authed := get(path, "shell-reader"); !bytes.Equal(anon, authed) {
			t.Errorf("GET %s differs with a token: the shell must carry no data", path)
		}
	}
	req, _ := http.NewRequest("GET", s.base+"/", nil)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("the dashboard's Content-Security-Policy = %q: any script could read its token", csp)
	}
	if code, ctype, _ := get("/favicon.ico", ""); code != 200 || ctype != "image/svg+xml" {
		t.Errorf("GET /favicon.ico: %d %q, want the SVG icon", code, ctype)
	}
	for _, path := range []string{"/v1/jobs", "/v1/algorithms", "/v1/runners", "/v1/stats", "/v1/events", "/v1/whoami"} {
		if code, _, _ := get(path, ""); code != 401 {
			t.Errorf("GET %s without a token: %d, want 401", path, code)
		}
	}
}
