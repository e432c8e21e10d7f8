package gateway

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor"
)

// TestDecodeLargeAgrees checks that a large body is decoded in place as
// strictly as the json.Decoder decodes a small one.
func TestDecodeLargeAgrees(t *testing.T) {
	pad := `"pad":"` + strings.Repeat("x", largeBody) + `"`
	for _, body := range []string{
		`{"algorithm":"a","input":{` + pad + `},"labels":{"k":"v"},"timeout":"1s"}`,
		`{"algorithm":"a","input":{` + pad + `},"bogus":1}`,
		`{"Algorithm":"a","INPUT":{` + pad + `}}`,
		`{"jobs":[{"algorithm":"a","input":{` + pad + `}},{"algorithm":"b","nope":true}]}`,
		`{"jobs":[{"algorithm":"a","input":{` + pad + `}}]} {}`,
		`{"algorithm":"a","input":{` + pad + `},"max_attempts":"x"}`,
		`{"algorithm":"a","input":{` + pad + `}`,
	} {
		for _, v := range []func() any{func() any { return &conveyor.SubmitRequest{} }, func() any { return &conveyor.BatchRequest{} }} {
			got, want := v(), v()
			gerr, werr := decodeLarge([]byte(body), got), decodeJSON(bytes.NewReader([]byte(body)), want)
			if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
				t.Errorf("%.60s…: in place %v, decoder %v", body, gerr, werr)
				continue
			}
			if gerr == nil && !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				t.Errorf("%.60s…: in place %.200s, decoder %.200s", body, g, w)
			}
		}
	}
}
