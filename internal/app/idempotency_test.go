package app

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
)

// TestIdempotencyKeysPerTenant checks that tenants do not share
// idempotency keys: another tenant's use of a key neither refuses a
// submit (which would name the other tenant's job) nor returns that job;
// within a tenant a key works as before.
func TestIdempotencyKeysPerTenant(t *testing.T) {
	t.Setenv("T_IDEM_ACME", "acme-secret")
	t.Setenv("T_IDEM_GLOBEX", "globex-secret")
	cfg := testConfig(t, t.TempDir())
	cfg.Auth.Tokens = []config.Token{
		{Name: "acme", TokenEnv: "T_IDEM_ACME", Scopes: []string{"submit", "read"}, Tenant: "acme"},
		{Name: "globex", TokenEnv: "T_IDEM_GLOBEX", Scopes: []string{"submit", "read"}, Tenant: "globex"},
	}
	s := startServer(t, cfg)
	submit := func(token, body string) (int, conveyor.Job, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", s.base+"/v1/jobs", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var j conveyor.Job
		if resp.StatusCode < 300 {
			if err := json.Unmarshal(data, &j); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, j, string(data)
	}

	code, a, body := submit("acme-secret", `{"algorithm":"is_prime","input":{"n":7},"idempotency_key":"order-1"}`)
	if code != http.StatusAccepted {
		t.Fatalf("acme: %d %s", code, body)
	}
	// Another tenant, the same key, another request: a job of its own.
	code, b, body := submit("globex-secret", `{"algorithm":"is_prime","input":{"n":8},"idempotency_key":"order-1"}`)
	if code != http.StatusAccepted || b.ID == a.ID || b.Tenant != "globex" {
		t.Fatalf("globex reusing acme's key: %d %s, want 202 with a job of its own", code, body)
	}
	// Another tenant, the same key, the same request as acme's.
	code, c, body := submit("globex-secret", `{"algorithm":"is_prime","input":{"n":8},"idempotency_key":"order-1"}`)
	if code != http.StatusOK || c.ID != b.ID {
		t.Fatalf("globex repeating its request: %d %s, want 200 with %s", code, body, b.ID)
	}
	code, _, body = submit("globex-secret", `{"algorithm":"is_prime","input":{"n":7},"idempotency_key":"order-1"}`)
	if code != http.StatusConflict || strings.Contains(body, a.ID) || !strings.Contains(body, b.ID) {
		t.Fatalf("globex, another request under its key: %d %s, want 409 naming %s only", code, body, b.ID)
	}
	code, d, body := submit("acme-secret", `{"algorithm":"is_prime","input":{"n":7},"idempotency_key":"order-1"}`)
	if code != http.StatusOK || d.ID != a.ID {
		t.Fatalf("acme repeating its request: %d %s, want 200 with %s", code, body, a.ID)
	}
	code, _, body = submit("acme-secret", `{"algorithm":"is_prime","input":{"n":9},"idempotency_key":"order-1"}`)
	if code != http.StatusConflict || strings.Contains(body, b.ID) {
		t.Fatalf("acme, another request under its key: %d %s, want 409 not naming globex's job", code, body)
	}
	// In a batch too.
	req, _ := http.NewRequest("POST", s.base+"/v1/jobs/batch", strings.NewReader(`{"jobs":[{"algorithm":"is_prime","input":{"n":8},"idempotency_key":"order-1"}]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer acme-secret")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if data, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusConflict || strings.Contains(string(data), b.ID) {
		t.Fatalf("acme's batch under its key: %d %s, want 409 not naming globex's job", resp.StatusCode, data)
	}
}
