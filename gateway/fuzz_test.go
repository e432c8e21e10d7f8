package gateway

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
)

// FuzzSubmit feeds arbitrary bodies to the submit decoder and validation:
// they never panic; a rejected body gets a coded client error (never an
// internal one); an accepted one makes a queued job whose input is
// compact JSON that passes the algorithm's schema.
func FuzzSubmit(f *testing.F) {
	for _, seed := range []string{
		`{"algorithm":"is_prime","input":{"n":7}}`,
		`{"algorithm":"is_prime","input":{"n":-1}}`,
		`{"algorithm":"is_prime","input":{"n":7},"priority":"high","idempotency_key":"k","max_attempts":2,"timeout":"5s","labels":{"a":"b"}}`,
		`{"algorithm":"nope"}`, `{"algorithm":"is_prime","input":[1]}`, `{"algorithm":"is_prime","colour":1}`,
		`{"algorithm":"is_prime","input":{"n":7}} {}`, `{`, ``, `null`, `{"algorithm":"is_prime","timeout":-3}`,
		`{"algorithm":"is_prime","input":{"n":1e400}}`, `{"algorithm":"is_prime","input":{"n":7},"mutex":"m"}`,
		`{"algorithm":"is_prime","input":{"n":7},"callback_url":"https://hooks.example.com/done?x=1"}`,
		`{"algorithm":"is_prime","input":{"n":7},"callback_url":"http://hooks.example.com:8080/"}`,
		`{"algorithm":"is_prime","input":[[[[[[[[[[1]]]]]]]]]]}`,
		`{"algorithm":"is_prime","input":{"n":7},"requires":{"model":"llama","zone":"eu"}}`,
		`{"algorithm":"is_prime","input":{"n":7},"requires":{"a=b":"c"}}`, `{"algorithm":"is_prime","input":{"n":7},"requires":{"":""}}`,
	} {
		f.Add([]byte(seed))
	}
	g := &Gateway{reg: newRegistry(time.Second, slog.New(slog.DiscardHandler)), jobs: newIndex(nil)}
	g.cfg.Callbacks.AllowHosts = []string{"hooks.example.com", "127.0.0.1:9000"}
	g.reg.putAlgorithm([]byte(`{"name":"is_prime","kind":"go","input_schema":{"type":"object","properties":{"n":{"type":"integer","minimum":0}},"required":["n"],"additionalProperties":false}}`))
	known, err := g.reg.algorithm("is_prime")
	if err != nil || known.err != nil {
		f.Fatal(err, known.err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req conveyor.SubmitRequest
		err := decodeBytes(body, &req)
		var j *conveyor.Job
		if err == nil {
			j, err = g.newJob(req)
		}
		if err != nil {
			switch conveyor.ErrorCode(err) {
			case conveyor.EINVALID, conveyor.ENOTFOUND, conveyor.EUNSUPPORTED:
			default:
				t.Fatalf("%q: error %v has code %s", body, err, conveyor.ErrorCode(err))
			}
			return
		}
		if j.Callback != nil && g.cfg.Callbacks.CheckURL(j.Callback.URL) != nil {
			t.Fatalf("%q: accepted callback %q is not allowed", body, j.Callback.URL)
		}
		if j.Status != conveyor.StatusQueued || j.ID == "" || j.MaxAttempts < 1 {
			t.Fatalf("%q: job %+v", body, j)
		}
		var compact bytes.Buffer
		if json.Compact(&compact, j.Input) != nil || !bytes.Equal(compact.Bytes(), j.Input) {
			t.Fatalf("%q: input %s is not compact JSON", body, j.Input)
		}
		if err := known.input.Validate(j.Input); err != nil {
			t.Fatalf("%q: accepted input %s fails the schema: %v", body, j.Input, err)
		}
	})
}
