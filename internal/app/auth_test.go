package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
)

func TestAuth(t *testing.T) {
	t.Setenv("TEST_SUBMIT_TOKEN", "s3cret-submitter")
	readerSum := sha256.Sum256([]byte("s3cret-reader"))
	cfg := testConfig(t, t.TempDir())
	cfg.Auth.Tokens = []config.Token{
		{Name: "ci", TokenEnv: "TEST_SUBMIT_TOKEN", Scopes: []string{"submit", "read"}, Algorithms: []string{"is_prime"}},
		{Name: "dashboard", TokenSHA256: hex.EncodeToString(readerSum[:]), Scopes: []string{"read"}},
		{Name: "ops", TokenEnv: "TEST_SUBMIT_TOKEN_ADMIN", Scopes: []string{"admin"}},
	}
	t.Setenv("TEST_SUBMIT_TOKEN_ADMIN", "s3cret-admin")
	s := startServer(t, cfg)
	call := func(token, method, path, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	expect := func(resp *http.Response, status int, what string) {
		t.Helper()
		if resp.StatusCode != status {
			t.Fatalf("%s: status %d, want %d", what, resp.StatusCode, status)
		}
	}
	prime := `{"algorithm":"is_prime","input":{"n":7}}`
	resp := call("", "POST", "/v1/jobs", prime)
	expect(resp, 401, "no token")
	if resp.Header.Get("WWW-Authenticate") == "" || problem(t, resp).Code != conveyor.EUNAUTHORIZED {
		t.Fatal("401 without WWW-Authenticate or the unauthorized code")
	}
	expect(call("not-a-token", "GET", "/v1/jobs", ""), 401, "wrong token")
	expect(call("s3cret-reader", "POST", "/v1/jobs", prime), 403, "reader submits")
	expect(call("s3cret-submitter", "POST", "/v1/jobs", `{"algorithm":"sleep","input":{"seconds":1}}`), 403, "outside the allow-list")
	expect(call("s3cret-submitter", "POST", "/v1/algorithms/sleep/run", `{"seconds":0}`), 403, "call outside the allow-list")
	resp = call("s3cret-submitter", "POST", "/v1/jobs", `{"algorithm":"is_prime","input":{"n":7}}`)
	expect(resp, 202, "submitter submits")
	var j conveyor.Job
	if err := jsonDecode(resp, &j); err != nil {
		t.Fatal(err)
	}
	expect(call("s3cret-reader", "GET", "/v1/jobs/"+j.ID, ""), 200, "reader reads")
	expect(call("s3cret-submitter", "POST", "/v1/jobs/"+j.ID+"/cancel", ""), 403, "submitter cancels")
	expect(call("s3cret-admin", "GET", "/v1/jobs/"+j.ID+"?wait=10s", ""), 200, "admin reads")
	expect(call("", "GET", "/healthz", ""), 200, "health without a token")
	expect(call("", "GET", "/metrics", ""), 401, "metrics without a token")
}

func TestOpenAPIOnlyOnLoopbackWithoutTokens(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.HTTP.Addr = "0.0.0.0:0"
	_, err := Start(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "without auth tokens") {
		t.Fatalf("open API on all interfaces: err = %v", err)
	}
}

// TestTenants checks that a token with a tenant sees and cancels only the
// jobs its tenant submitted; an admin sees them all.
func TestTenants(t *testing.T) {
	t.Setenv("T_ACME", "acme-secret")
	t.Setenv("T_GLOBEX", "globex-secret")
	t.Setenv("T_ADMIN", "admin-secret")
	cfg := testConfig(t, t.TempDir())
	cfg.Auth.Tokens = []config.Token{
		{Name: "acme", TokenEnv: "T_ACME", Scopes: []string{"submit", "read", "cancel"}, Tenant: "acme"},
		{Name: "globex", TokenEnv: "T_GLOBEX", Scopes: []string{"submit", "read", "cancel"}, Tenant: "globex"},
		{Name: "ops", TokenEnv: "T_ADMIN", Scopes: []string{"admin"}},
	}
	s := startServer(t, cfg)
	call := func(token, method, path, body string, out any) int {
		t.Helper()
		req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if out != nil {
			_ = jsonDecode(resp, out)
		}
		return resp.StatusCode
	}
	var j conveyor.Job
	if code := call("acme-secret", "POST", "/v1/jobs?wait=10s", `{"algorithm":"is_prime","input":{"n":7}}`, &j); code != 200 || j.Tenant != "acme" {
		t.Fatalf("acme submit: %d tenant %q", code, j.Tenant)
	}
	for _, path := range []string{"/v1/jobs/" + j.ID, "/v1/jobs/" + j.ID + "/logs", "/v1/jobs/" + j.ID + "/events"} {
		if code := call("globex-secret", "GET", path, "", nil); code != 404 {
			t.Errorf("globex GET %s: %d, want 404", path, code)
		}
	}
	if code := call("globex-secret", "POST", "/v1/jobs/"+j.ID+"/cancel", "", nil); code != 404 {
		t.Errorf("globex cancel: %d, want 404", code)
	}
	count := func(token string) int {
		var list conveyor.JobPage
		call(token, "GET", "/v1/jobs", "", &list)
		return len(list.Jobs)
	}
	if a, g, o := count("acme-secret"), count("globex-secret"), count("admin-secret"); a != 1 || g != 0 || o != 1 {
		t.Errorf("lists: acme %d, globex %d, admin %d; want 1, 0, 1", a, g, o)
	}
	if code := call("admin-secret", "GET", "/v1/jobs/"+j.ID, "", nil); code != 200 {
		t.Errorf("admin GET: %d", code)
	}
	// Lists of another tenant's jobs: only for admin tokens.
	if code := call("globex-secret", "GET", "/v1/jobs?tenant=acme", "", nil); code != 403 {
		t.Errorf("globex lists acme's jobs: %d, want 403", code)
	}
	var acme conveyor.JobPage
	if code := call("admin-secret", "GET", "/v1/jobs?tenant=acme", "", &acme); code != 200 || len(acme.Jobs) != 1 {
		t.Errorf("admin lists acme's jobs: %d, %d jobs", code, len(acme.Jobs))
	}
	// Aggregates count a tenant's own jobs (issue 18, item 9): a job of
	// acme's, queued behind a busy worker, is not globex's to see.
	counted := func(token string) (finished, queued int) {
		var st struct {
			Algorithms []struct {
				Name   string                  `json:"name"`
				Counts map[conveyor.Status]int `json:"counts"`
			} `json:"algorithms"`
		}
		call(token, "GET", "/v1/stats", "", &st)
		for _, a := range st.Algorithms {
			for status, n := range a.Counts {
				if status.Terminal() {
					finished += n
				}
			}
		}
		var info conveyor.AlgorithmInfo
		call(token, "GET", "/v1/algorithms/wordcount", "", &info)
		return finished, info.Queued + info.Running
	}
	var slow conveyor.Job
	if code := call("acme-secret", "POST", "/v1/jobs", `{"algorithm":"wordcount","input":{"text":"a b"}}`, &slow); code != 202 {
		t.Fatalf("acme submit: %d", code)
	}
	if f, q := counted("globex-secret"); f != 0 || q != 0 {
		t.Errorf("globex sees %d finished and %d live jobs of acme's", f, q)
	}
	if f, _ := counted("acme-secret"); f < 1 {
		t.Errorf("acme sees %d finished jobs of its own, want at least 1", f)
	}
	// /metrics counts every tenant's jobs: admin or the metrics scope.
	if code := call("acme-secret", "GET", "/metrics", "", nil); code != 403 {
		t.Errorf("acme reads /metrics: %d, want 403", code)
	}
	if code := call("admin-secret", "GET", "/metrics", "", nil); code != 200 {
		t.Errorf("admin reads /metrics: %d", code)
	}
}

// TestTokensNeverLogged: neither a valid token nor a wrong one appears in
// the log, even at debug level, whatever the requests do.
func TestTokensNeverLogged(t *testing.T) {
	t.Setenv("TEST_LOGGED_TOKEN", "s3cret-never-logged")
	cfg := testConfig(t, t.TempDir())
	cfg.Auth.Tokens = []config.Token{{Name: "ci", TokenEnv: "TEST_LOGGED_TOKEN", Scopes: []string{"submit", "read"}}}
	var logs logBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := Start(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop) // if the test fails before the Stop below; a second Stop is harmless
	base := "http://" + a.Addr()
	for _, tok := range []string{"s3cret-never-logged", "wrong-guess-never-logged"} {
		for _, path := range []string{"/v1/jobs", "/v1/jobs/nope", "/v1/nothing", "/metrics"} {
			req, _ := http.NewRequest("GET", base+path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := httpClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		req, _ := http.NewRequest("POST", base+"/v1/jobs", strings.NewReader(`{"algorithm":"wordcount","input":{"text":"a b","fail":true}}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	a.Stop()
	if logs.String() == "" {
		t.Fatal("nothing was logged: the test checks nothing")
	}
	if strings.Contains(logs.String(), "never-logged") {
		t.Fatalf("a token is in the log:\n%s", logs.String())
	}
}
