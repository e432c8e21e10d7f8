//go:build unix

package workerkind

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/runner"
)

func TestRegistered(t *testing.T) {
	k, err := runner.LookupKind("worker")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := k.(Kind); !ok {
		t.Errorf("kind worker is %T", k)
	}
}

func TestProvisionServesWhatTheWorkerAnnounces(t *testing.T) {
	_, served := provision(t, Kind{}, pyEntry(t, func(e *config.Algorithm, o *Options) {
		e.Timeout = conveyor.Duration(time.Minute)
		o.Algorithms = map[string]AlgorithmSettings{"word_count": {Timeout: conveyor.Duration(time.Second), MaxAttempts: 5, Description: "Mine."}}
	}))
	byName := map[string]conveyor.Algorithm{}
	for _, s := range served {
		byName[s.Algorithm.Name] = s.Algorithm
	}
	if len(byName) != 11 {
		t.Fatalf("served %v", byName)
	}
	wc := byName["word_count"]
	var in map[string]any
	if err := json.Unmarshal(wc.InputSchema, &in); err != nil || in["required"].([]any)[0] != "text" {
		t.Errorf("input schema %s: %v", wc.InputSchema, err)
	}
	if wc.Kind != "worker" || wc.Description != "Mine." || wc.Timeout.Std() != time.Second || wc.MaxAttempts != 5 || string(wc.OutputSchema) != `{"type":"object"}` {
		t.Errorf("word_count = %+v", wc)
	}
	if r := byName["report"]; r.Description != "Reports progress and logs." || r.Timeout.Std() != time.Minute || r.MaxAttempts != 3 {
		t.Errorf("report = %+v", r)
	}

	_, served = provision(t, Kind{}, pyEntry(t, func(e *config.Algorithm, o *Options) { e.Name = "pid"; e.Description = "Pid." }))
	if len(served) != 1 || served[0].Algorithm.Name != "pid" || served[0].Algorithm.Description != "Pid." {
		t.Errorf("named entry served %+v", served)
	}
}

func TestProvisionErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*config.Algorithm, *Options)
		want string
	}{
		{"no command", func(e *config.Algorithm, o *Options) { o.Process.Command = nil }, "command is required"},
		{"missing executable", func(e *config.Algorithm, o *Options) { o.Process.Command = []string{"no-such-program-xyz"} }, "executable file not found"},
		{"schema in config", func(e *config.Algorithm, o *Options) { e.InputSchema = map[string]any{"type": "object"} }, "announces its algorithms' schemas"},
		{"description without name", func(e *config.Algorithm, o *Options) { e.Description = "x" }, "description needs a name"},
		{"reserved env", func(e *config.Algorithm, o *Options) { o.Process.Env = map[string]string{"CONVEYOR_PROTOCOL": "2"} }, "reserved"},
		{"unknown name", func(e *config.Algorithm, o *Options) { e.Name = "nope" }, "announces no algorithm nope (it announces word_count, report"},
		{"settings for unknown", func(e *config.Algorithm, o *Options) { o.Algorithms = map[string]AlgorithmSettings{"nope": {}} }, "algorithms.nope: no such algorithm"},
		{"exits at start", func(e *config.Algorithm, o *Options) {
			o.Process.Command = []string{"sh", "-c", "echo loading the model >&2; echo out of memory >&2; exit 3"}
		}, "exited with status 3 before its hello\nits stderr ends with:\nloading the model\nout of memory"},
		{"import error", func(e *config.Algorithm, o *Options) { o.Process.Command[3] = "no_such_module" }, "ModuleNotFoundError: No module named 'no_such_module'"},
		{"garbage on fd 4", func(e *config.Algorithm, o *Options) {
			o.Process.Command = []string{"sh", "-c", "echo 'hello there' >&4; echo oops >&2; sleep 300"}
		}, `malformed protocol line: not a JSON object: "hello there"`},
		{"not a hello", func(e *config.Algorithm, o *Options) {
			o.Process.Command = []string{"sh", "-c", `echo '{"type":"progress","id":"x","percent":1}' >&4; sleep 300`}
		}, "its first protocol message is a progress, not a hello"},
		{"wrong protocol", func(e *config.Algorithm, o *Options) {
			o.Process.Command = []string{"sh", "-c", `echo '{"type":"hello","protocol":2,"algorithms":[{"name":"a"}]}' >&4; sleep 300`}
		}, "it speaks protocol 2; this runner speaks 1"},
		{"bad schema", func(e *config.Algorithm, o *Options) {
			o.Process.Command = []string{"sh", "-c", `echo '{"type":"hello","protocol":1,"algorithms":[{"name":"a","input_schema":{"type":"nonsense"}}]}' >&4; sleep 300`}
		}, "announces a with an invalid input_schema"},
		{"silent", func(e *config.Algorithm, o *Options) {
			o.Process.Command = []string{"sh", "-c", "echo thinking >&2; sleep 300"}
		}, "no hello within 300ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Only the silent worker waits out the start timeout; the others
			// end the handshake themselves, however slowly a busy machine
			// starts Python.
			timeout := 10 * time.Second
			if tc.name == "silent" {
				timeout = 300 * time.Millisecond
			}
			// The workers that stay (sleep 300) must be killed: a Provision
			// that waited for one to exit would not return within the minute.
			entry := pyEntry(t, tc.edit)
			done := make(chan error, 1)
			go func() { _, err := Kind{StartTimeout: timeout}.Provision(context.Background(), entry); done <- err }()
			var err error
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				t.Fatal("Provision did not return within a minute of a failed start: it waits for the worker instead of killing it")
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}
