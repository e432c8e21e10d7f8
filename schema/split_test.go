package schema

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor"
)

// TestSplitAgreesWithWhole checks that a large value validated a part at
// a time fails (or passes) with the same violations as decoded whole.
func TestSplitAgreesWithWhole(t *testing.T) {
	schemas := map[string]string{
		"rows": `{"type":"object","properties":{"rows":{"type":"array","items":{"$ref":"#/$defs/Row"}},"name":{"type":"string"}},
			"required":["rows","name"],"additionalProperties":false,
			"$defs":{"Row":{"type":"object","properties":{"id":{"type":"integer"},"tags":{"type":"array","items":{"type":"string"}}},"required":["id"]}}}`,
		"list":    `{"type":"array","items":{"type":"object","properties":{"id":{"type":"integer","minimum":0}}}}`,
		"map":     `{"type":"object","additionalProperties":{"type":"array","items":{"type":"number"}}}`,
		"any":     `{"type":"object"}`,
		"anyOf":   `{"type":"object","properties":{"rows":{"anyOf":[{"type":"null"},{"type":"array","items":{"type":"integer"}}]}}}`,
		"maxItem": `{"type":"object","properties":{"rows":{"type":"array","maxItems":3}}}`,
		"tuple":   `{"type":"array","prefixItems":[{"type":"string"}],"items":{"type":"integer"}}`,
	}
	rows := func(n int, row func(i int) string) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteString(",\n ")
			}
			b.WriteString(row(i))
		}
		return b.String()
	}
	const n = 3000 // ~100 KB: over splitMin
	good := func(i int) string {
		return fmt.Sprintf(`{"id": %d, "tags": ["a", "b"], "pad": "%s"}`, i, strings.Repeat("x", 20))
	}
	bad := func(i int) string {
		switch i {
		case 7:
			return `{"tags": ["a", 3]}`
		case 1500:
			return `{"id": "x"}`
		case 2999:
			return `[1]`
		}
		return good(i)
	}
	nums := func(i int) string { return fmt.Sprint(i) }
	instances := []string{
		`{"rows": [` + rows(n, good) + `], "name": "ok"}`,
		`{"rows": [` + rows(n, bad) + `], "extra": 1}`,
		` [` + rows(n, good) + `] `,
		`[` + rows(n, func(i int) string { return fmt.Sprintf(`{"id": %d, "pad": "%s"}`, i-5, strings.Repeat("y", 20)) }) + `]`,
		`{"a": [` + rows(8*n, nums) + `], "b": [1, "two"], "c": {}}`,
		`{"rows": [` + rows(8*n, nums) + `]}`,
		`{"rows": [` + rows(8*n, func(i int) string { return `"stringy"` }) + `]}`,
		`["first", ` + rows(8*n, nums) + `, "last"]`,
		`"` + strings.Repeat("x", splitMin) + `"`,
	}
	for name, doc := range schemas {
		s, err := Compile([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for k, inst := range instances {
			if len(inst) < splitMin {
				t.Fatalf("instance %d: %d bytes, not over splitMin", k, len(inst))
			}
			got, want := s.Validate([]byte(inst)), s.validateWhole([]byte(inst))
			if (got == nil) != (want == nil) {
				t.Errorf("%s, instance %d: split says %v, whole %v", name, k, got, want)
				continue
			}
			if got == nil {
				continue
			}
			g, w := got.(*conveyor.Error), want.(*conveyor.Error)
			if g.Message != w.Message || !reflect.DeepEqual(g.Details, w.Details) {
				t.Errorf("%s, instance %d:\nsplit %s %v\nwhole %s %v", name, k, g.Message, g.Details, w.Message, w.Details)
			}
		}
	}
}

// TestSplittable checks which schemas a large value is validated against
// a part at a time.
func TestSplittable(t *testing.T) {
	for doc, want := range map[string]bool{
		`{"type":"object","properties":{"rows":{"type":"array","items":{"$ref":"#/$defs/R"}}},"required":["rows"],"$defs":{"R":{"type":"object"}},"title":"x"}`: true,
		`{"$ref":"#/$defs/R","$defs":{"R":{"type":"object","additionalProperties":false}}}`:                                                                     true,
		`{"type":"object","maxProperties":3}`: false,
		`{"anyOf":[{"type":"object"}]}`:       false,
		`{"type":"array","uniqueItems":true}`: false,
	} {
		s, err := Compile([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if got := splittable(follow(s.compiled)); got != want {
			t.Errorf("%s: splittable %v, want %v", doc, got, want)
		}
	}
}
