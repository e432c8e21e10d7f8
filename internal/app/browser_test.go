package app

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
)

// raw sends one request with exactly the headers given (a "Host" entry
// sets the Host header) and returns its status and body.
func (s *server) raw(method, path, body string, header map[string]string) (int, string) {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp.StatusCode, string(data)
}

// TestBrowserAttacks checks that a web page cannot drive a token-less API
// on loopback: not by a cross-site form or text/plain POST (CSRF), not by
// a fetch from another origin, not through DNS rebinding (its requests
// bear the attacker's host name) — while clients, the dashboard's own
// requests and links to the dashboard still work.
func TestBrowserAttacks(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	host := s.app.Addr() // 127.0.0.1:port
	_, port, _ := strings.Cut(host, ":")
	submit := `{"algorithm":"is_prime","input":{"n":7}}`
	json := map[string]string{"Content-Type": "application/json"}
	with := func(kv ...string) map[string]string {
		h := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			h[kv[i]] = kv[i+1]
		}
		return h
	}
	for _, tc := range []struct {
		name, method, path, body string
		header                   map[string]string
		want                     int
		code, detail             string
	}{
		// The probe's requests.
		{"cross-origin text/plain submit", "POST", "/v1/jobs", submit, with("Origin", "http://evil.example", "Content-Type", "text/plain"), 403, conveyor.EFORBIDDEN, "evil.example"},
		{"form-encoded call", "POST", "/v1/algorithms/is_prime/run", "n=7", with("Content-Type", "application/x-www-form-urlencoded"), 415, conveyor.EMEDIATYPE, "--json"},
		{"rebinding read", "GET", "/v1/jobs", "", with("Host", "attacker.example:"+port), 421, conveyor.EMISDIRECTED, "attacker.example"},
		// Content types.
		{"no content type", "POST", "/v1/jobs", submit, nil, 415, conveyor.EMEDIATYPE, "Content-Type: application/json"},
		{"text/plain", "POST", "/v1/algorithms/is_prime/jobs", `{"n":7}`, with("Content-Type", "text/plain"), 415, conveyor.EMEDIATYPE, "text/plain"},
		{"form batch", "POST", "/v1/jobs/batch", `jobs=1`, with("Content-Type", "multipart/form-data; boundary=x"), 415, conveyor.EMEDIATYPE, ""},
		{"json", "POST", "/v1/jobs", submit, json, 202, "", ""},
		{"json with charset", "POST", "/v1/jobs", submit, with("Content-Type", "Application/JSON; charset=utf-8"), 202, "", ""},
		// Cross-site, by Origin or by Sec-Fetch-Site.
		{"own origin", "POST", "/v1/jobs", submit, with("Content-Type", "application/json", "Origin", "http://"+host), 202, "", ""},
		{"opaque origin", "POST", "/v1/jobs", submit, with("Content-Type", "application/json", "Origin", "null"), 403, conveyor.EFORBIDDEN, ""},
		{"other port", "POST", "/v1/jobs", submit, with("Content-Type", "application/json", "Origin", "http://127.0.0.1:1"), 403, conveyor.EFORBIDDEN, ""},
		{"cross-site fetch of jobs", "GET", "/v1/jobs", "", with("Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "no-cors"), 403, conveyor.EFORBIDDEN, "cross-site"},
		{"cross-site link to a call", "GET", "/v1/algorithms/is_prime/run?n=7", "", with("Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate"), 403, conveyor.EFORBIDDEN, ""},
		{"same-site submit", "POST", "/v1/jobs", submit, with("Content-Type", "application/json", "Sec-Fetch-Site", "same-site"), 403, conveyor.EFORBIDDEN, ""},
		{"same-origin submit", "POST", "/v1/jobs", submit, with("Content-Type", "application/json", "Sec-Fetch-Site", "same-origin", "Origin", "http://"+host), 202, "", ""},
		{"typed in the address bar", "GET", "/v1/jobs", "", with("Sec-Fetch-Site", "none", "Sec-Fetch-Mode", "navigate"), 200, "", ""},
		{"cross-site link to the dashboard", "GET", "/", "", with("Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate"), 200, "", ""},
		{"cross-site link to the docs", "GET", "/docs", "", with("Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate"), 200, "", ""},
		// Loopback hosts.
		{"localhost", "GET", "/v1/jobs", "", with("Host", "localhost:"+port), 200, "", ""},
		{"LOCALHOST.", "GET", "/v1/jobs", "", with("Host", "LOCALHOST.:"+port), 200, "", ""},
		{"127.0.0.2", "GET", "/v1/jobs", "", with("Host", "127.0.0.2:"+port), 200, "", ""},
		{"[::1]", "GET", "/v1/jobs", "", with("Host", "[::1]:"+port), 200, "", ""},
		{"no port", "GET", "/healthz", "", with("Host", "127.0.0.1"), 200, "", ""},
		{"a LAN address", "GET", "/v1/jobs", "", with("Host", "192.168.1.20:"+port), 421, conveyor.EMISDIRECTED, ""},
		{"a name for loopback", "POST", "/v1/jobs", submit, with("Content-Type", "application/json", "Host", "127.0.0.1.nip.io:"+port), 421, conveyor.EMISDIRECTED, ""},
		{"health check by name", "GET", "/healthz", "", with("Host", "myhost:"+port), 421, conveyor.EMISDIRECTED, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := s.raw(tc.method, tc.path, tc.body, tc.header)
			if code != tc.want {
				t.Fatalf("status %d, want %d: %s", code, tc.want, body)
			}
			if tc.code != "" && !strings.Contains(body, `"code":"`+tc.code+`"`) {
				t.Errorf("problem %s, want code %s", body, tc.code)
			}
			if !strings.Contains(body, tc.detail) {
				t.Errorf("problem %s does not say %q", body, tc.detail)
			}
		})
	}

	// A POST without a body needs no content type.
	j := s.submit(map[string]any{"algorithm": "sleep", "input": map[string]any{"seconds": 30}}, "", http.StatusAccepted)
	if code, body := s.raw("POST", "/v1/jobs/"+j.ID+"/cancel", "", nil); code != http.StatusOK {
		t.Fatalf("cancel without a body: %d %s", code, body)
	}
	if code, body := s.raw("POST", "/v1/algorithms/is_prime/jobs", "", nil); code != http.StatusBadRequest || !strings.Contains(body, "missing property") {
		t.Fatalf("submit of an empty input without a body: %d %s, want the schema's 400", code, body)
	}
}

// TestBrowserAttacksWithTokens: with tokens, a page has no token to send,
// so any Host is served (a proxy or a name in DNS), and the scheme of
// Authorization is case-insensitive (RFC 9110): "bearer" works. Cross-site
// requests are still refused.
func TestBrowserAttacksWithTokens(t *testing.T) {
	t.Setenv("TEST_BROWSER_TOKEN", "s3cret")
	cfg := testConfig(t, t.TempDir())
	cfg.Auth.Tokens = []config.Token{{Name: "ci", TokenEnv: "TEST_BROWSER_TOKEN", Scopes: []string{"admin"}}}
	s := startServer(t, cfg)
	submit := `{"algorithm":"is_prime","input":{"n":7}}`
	for _, tc := range []struct {
		name, method, path, body string
		header                   map[string]string
		want                     int
	}{
		{"any host", "GET", "/v1/jobs", "", map[string]string{"Authorization": "Bearer s3cret", "Host": "conveyor.example"}, 200},
		{"lower-case scheme", "POST", "/v1/jobs", submit, map[string]string{"Authorization": "bearer s3cret", "Content-Type": "application/json"}, 202},
		{"upper-case scheme", "GET", "/v1/jobs", "", map[string]string{"Authorization": "BEARER s3cret"}, 200},
		{"spaces after the scheme", "GET", "/v1/jobs", "", map[string]string{"Authorization": "Bearer   s3cret"}, 200},
		{"another scheme", "GET", "/v1/jobs", "", map[string]string{"Authorization": "Basic s3cret"}, 401},
		{"no secret", "GET", "/v1/jobs", "", map[string]string{"Authorization": "bearer "}, 401},
		{"cross-site", "POST", "/v1/jobs", submit, map[string]string{"Authorization": "Bearer s3cret", "Content-Type": "application/json", "Origin": "http://evil.example"}, 403},
		{"text/plain", "POST", "/v1/jobs", submit, map[string]string{"Authorization": "Bearer s3cret", "Content-Type": "text/plain"}, 415},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := s.raw(tc.method, tc.path, tc.body, tc.header); code != tc.want {
				t.Fatalf("status %d, want %d: %s", code, tc.want, body)
			}
		})
	}
}
