package app

import (
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestQuotas: a tenant's quota bounds its jobs waiting (max_queued:
// queued or scheduled) and kept (max_retained): past either a submit is a
// 429 naming it, whole batches too, and nothing is stored; other tenants
// are not bound by it; deleting jobs makes room again.
func TestQuotas(t *testing.T) {
	for k, v := range map[string]string{"T_ACME": "acme", "T_GLOBEX": "globex"} {
		t.Setenv(k, v)
	}
	cfg := testConfig(t, t.TempDir())
	cfg.Auth.Tokens = []config.Token{
		{Name: "acme", TokenEnv: "T_ACME", Scopes: []string{"submit", "read", "cancel"}, Tenant: "acme"},
		{Name: "globex", TokenEnv: "T_GLOBEX", Scopes: []string{"submit", "read", "cancel"}, Tenant: "globex"},
	}
	cfg.Quotas = map[string]config.Quota{"acme": {MaxQueued: 3, MaxRetained: 6}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, cfg)
	now, later := `{"algorithm":"is_prime","input":{"n":7}}`, `{"algorithm":"is_prime","input":{"n":7},"delay":"1h"}`
	var kept []string
	for range 3 {
		var j conveyor.Job
		if resp := s.as("acme", "POST", "/v1/jobs?wait=10s", now, &j); resp.StatusCode != 200 {
			t.Fatalf("a job within the quota: %d", resp.StatusCode)
		}
		kept = append(kept, j.ID)
	}
	for range 3 {
		var j conveyor.Job
		if resp := s.as("acme", "POST", "/v1/jobs", later, &j); resp.StatusCode != 202 {
			t.Fatalf("a delayed job within the quota: %d", resp.StatusCode)
		}
		kept = append(kept, j.ID)
	}
	resp := s.as("acme", "POST", "/v1/jobs", later, nil)
	if body := readAll(t, resp); resp.StatusCode != 429 || !strings.Contains(body, "max_queued") {
		t.Fatalf("a fourth job waiting: %d %s, want 429 naming max_queued", resp.StatusCode, body)
	}
	if resp := s.as("globex", "POST", "/v1/jobs", later, nil); resp.StatusCode != 202 {
		t.Errorf("another tenant: %d, want 202", resp.StatusCode)
	}
	// One waits no more, but six are kept: the quota of kept jobs.
	s.as("acme", "POST", "/v1/jobs/"+kept[5]+"/cancel", "", nil)
	// The gateway's live view learns of the cancel from the store's watch.
	var last string
	testenv.Eventually(t, "a seventh job refused for max_retained", func() bool {
		resp := s.as("acme", "POST", "/v1/jobs", now, nil)
		last = readAll(t, resp)
		if resp.StatusCode != 429 {
			t.Fatalf("a seventh job kept: %d %s, want 429", resp.StatusCode, last)
		}
		return strings.Contains(last, "max_retained")
	})
	if resp := s.as("acme", "POST", "/v1/jobs/batch", `{"jobs":[`+now+`]}`, nil); resp.StatusCode != 429 {
		t.Errorf("a batch past the quota: %d, want 429", resp.StatusCode)
	}
	var page conveyor.JobPage
	if s.as("acme", "GET", "/v1/jobs", "", &page); len(page.Jobs) != 6 {
		t.Errorf("acme keeps %d jobs, want the 6 accepted", len(page.Jobs))
	}
	// Room again once jobs go.
	for _, id := range []string{kept[0], kept[5]} {
		if resp := s.as("acme", "DELETE", "/v1/jobs/"+id, "", nil); resp.StatusCode != 204 {
			t.Fatalf("delete %s: %d", id, resp.StatusCode)
		}
	}
	testenv.Eventually(t, "room in the quota after deletes", func() bool {
		time.Sleep(100 * time.Millisecond)
		return s.as("acme", "POST", "/v1/jobs", now, nil).StatusCode == 202
	})
}
