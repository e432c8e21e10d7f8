package app

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestViolationPointers: a 400 points at what is wrong. A property the
// schema does not allow is pointed at itself, and an Optional[dataclass]
// input of a Python worker given a bad object reports the object's own
// violations, not one anyOf message at its parent.
func TestViolationPointers(t *testing.T) {
	python := testenv.Python(t)
	dir, _ := filepath.Abs("testdata")
	_, _ = os.ReadFile("testdata/shapes.py") // so that go test's cache sees it
	cfg := testConfig(t, t.TempDir())
	cfg.Algorithms = append(cfg.Algorithms, pyWorker(python, dir, "shapes", config.Algorithm{Workers: config.Workers{Max: 1}}))
	cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, cfg)
	testenv.Eventually(t, "area to be registered", func() bool {
		return s.do("GET", "/v1/algorithms/area", nil, nil).StatusCode == 200
	})

	for _, tc := range []struct {
		path, body string
		want       []conveyor.Violation
	}{
		{"/v1/algorithms/is_prime/jobs", `{"n": 7, "bogus": 1}`,
			[]conveyor.Violation{{Pointer: "/bogus", Message: `property "bogus" not allowed`}}},
		{"/v1/algorithms/area/jobs", `{"box": {"w": "2", "depth": 3}}`,
			[]conveyor.Violation{{Pointer: "/box/depth", Message: `property "depth" not allowed`}, {Pointer: "/box/w", Message: "got string, want integer"}}},
		{"/v1/algorithms/area/run", `{"box": {}}`,
			[]conveyor.Violation{{Pointer: "/box", Message: `missing property "w"`}}},
	} {
		resp := s.do("POST", tc.path, tc.body, nil)
		if resp.StatusCode != 400 {
			t.Fatalf("%s %s: status %d, want 400: %s", tc.path, tc.body, resp.StatusCode, readAll(t, resp))
		}
		if p := problem(t, resp); !slices.Equal(p.Errors, tc.want) {
			t.Errorf("%s %s: violations\n got %q\nwant %q", tc.path, tc.body, p.Errors, tc.want)
		}
	}
	if j := s.submit(map[string]any{"algorithm": "area", "input": map[string]any{"box": map[string]any{"w": 2, "h": 3}}}, "?wait=30s", 200); string(j.Output) != "6" {
		t.Fatalf("area: %+v output %s", j, j.Output)
	}
}
