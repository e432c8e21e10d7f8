package gateway

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor/broker/brokertest"
)

// TestOpenAPIRoutes: every route of the API is an operation of
// /openapi.json — for the routes of an algorithm, of each registered one —
// so that no endpoint exists undocumented.
func TestOpenAPIRoutes(t *testing.T) {
	_, b := brokertest.Open(t)
	g, err := New(Config{Broker: b})
	if err != nil {
		t.Fatal(err)
	}
	g.reg.putAlgorithm([]byte(`{"name":"is_prime","kind":"go","input_schema":{"type":"object"}}`))
	data, err := json.Marshal(g.openAPI())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	// The query parameters a handler takes from a table are those the
	// table documents: GET /v1/jobs and GET /v1/stats refuse any other.
	for path, want := range map[string][]obj{"/v1/jobs": listParams, "/v1/stats": statsParams} {
		var op struct {
			Parameters []struct{ Name, In string } `json:"parameters"`
		}
		if err := json.Unmarshal(doc.Paths[path]["get"], &op); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range op.Parameters {
			got = append(got, p.Name)
		}
		if !slices.Equal(got, paramNames(want)) {
			t.Errorf("GET %s documents %v, takes %v", path, got, paramNames(want))
		}
	}
	for _, r := range g.api() {
		method, path, _ := strings.Cut(r.pattern, " ")
		path = strings.Replace(path, "/v1/algorithms/{name}", "/v1/algorithms/is_prime", 1)
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("%s is not in /openapi.json (paths has %s: %v)", r.pattern, path, keys(doc.Paths[path]))
		}
	}
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestOpenAPIHidesPayloadRefs: the job's schema has its input and no
// reference to a payload kept in the object store, which no client sees.
func TestOpenAPIHidesPayloadRefs(t *testing.T) {
	data, err := json.Marshal(components["Job"])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`"input"`)) || bytes.Contains(data, []byte(`_ref"`)) {
		t.Errorf("the Job schema: %.300s", data)
	}
}
