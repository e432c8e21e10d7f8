// Package runnertest is the conformance suite every runner kind passes: the
// behaviour the runner relies on whatever executes the algorithm — outputs,
// failures, permanent failures, progress and logs, and stops on cancel and
// deadline. The suite checks what happens, not how fast: its time limits
// only turn a hang into a failure.
//
// A kind's test provisions one algorithm per Behaviour, written in the
// kind's own terms (a Go function, a script, a worker module), and calls
// Run:
//
//	func TestConformance(t *testing.T) {
//		runnertest.Run(t, func(t *testing.T, b runnertest.Behaviour) runner.Handler {
//			return provision(t, scripts[b])
//		})
//	}
package runnertest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/runner"
)

// Behaviour names an algorithm every kind provides for the suite.
type Behaviour string

// The behaviours. Inputs are JSON objects; see each for what it does.
const (
	// Echo returns its input unchanged as its output.
	Echo Behaviour = "echo"
	// Fail fails with an error whose message contains the input's
	// "message" string; the failure may be retried.
	Fail Behaviour = "fail"
	// FailPermanently fails with the input's "message" in a way the kind
	// marks as not worth retrying (conveyor.Permanent, retryable=false, …).
	FailPermanently Behaviour = "fail_permanently"
	// Report reports progress 50 with message "half", logs the line
	// "hello from the job", then returns {"ok": true}.
	Report Behaviour = "report"
	// Block reports progress 1 with message "blocking", then waits until
	// it is stopped (cancel or deadline) and stops promptly.
	Block Behaviour = "block"
)

// Provision returns a handler for one behaviour. It may call t.Fatal.
type Provision func(t *testing.T, b Behaviour) runner.Handler

// Options adjust the suite to a kind.
type Options struct {
	// Stop bounds how long Run may take to return after its context ends
	// before the suite reports a hang. It is no measure of speed (that is
	// for benchmarks), so it should be well above the kind's grace period.
	// Default 30s.
	Stop time.Duration
	// Skip lists behaviours the kind cannot express, with the reason in
	// the kind's documentation.
	Skip []Behaviour
	// Blocking, for a kind that cannot report progress, returns when the
	// Block behaviour's work is under way; by default the suite waits for
	// its progress report.
	Blocking func(t *testing.T)
}

// Run runs the conformance suite against the handlers provision returns.
func Run(t *testing.T, provision Provision, opts ...Options) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Stop == 0 {
		o.Stop = 30 * time.Second
	}
	skip := map[Behaviour]bool{}
	for _, b := range o.Skip {
		skip[b] = true
	}
	cases := []struct {
		name string
		b    Behaviour
		test func(*testing.T, runner.Handler, Options)
	}{
		{"echo", Echo, testEcho},
		{"fail", Fail, testFail},
		{"fail_permanently", FailPermanently, testFailPermanently},
		{"report", Report, testReport},
		{"cancel", Block, testCancel},
		{"deadline", Block, testDeadline},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if skip[c.b] {
				t.Skipf("the kind cannot express %s", c.b)
			}
			c.test(t, provision(t, c.b), o)
		})
	}
}

func task(input string, rec *Recorder) *runner.Task {
	return &runner.Task{JobID: "01TESTJOB", Algorithm: "conformance", Input: json.RawMessage(input), Attempt: 1, Reporter: rec}
}

// finishTimeout bounds an attempt of a behaviour that ends on its own, so
// that one that never does fails the test instead of hanging it.
const finishTimeout = time.Minute

// run runs one attempt of h and returns what it returned. It fails the
// test if the attempt is still running after finishTimeout, or if Run
// then does not return within o.Stop of its context's end.
func run(t *testing.T, h runner.Handler, input string, rec *Recorder, o Options) (json.RawMessage, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), finishTimeout)
	defer cancel()
	type result struct {
		out json.RawMessage
		err error
	}
	done := make(chan result, 1)
	go func() { out, err := h.Run(ctx, task(input, rec)); done <- result{out, err} }()
	select {
	case r := <-done:
		if ctx.Err() != nil {
			t.Fatalf("the attempt did not finish within %v: %v", finishTimeout, r.err)
		}
		return r.out, r.err
	case <-time.After(finishTimeout + o.Stop):
		t.Fatalf("Run did not return within %v, nor within %v of its deadline", finishTimeout, o.Stop)
		return nil, nil
	}
}

func testEcho(t *testing.T, h runner.Handler, o Options) {
	in := `{"text":"héllo","n":[1,2.5,null],"deep":{"ok":true}}`
	out, err := run(t, h, in, NewRecorder(), o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !sameJSON(t, out, json.RawMessage(in)) {
		t.Fatalf("output %s, want the input %s", out, in)
	}
}

func testFail(t *testing.T, h runner.Handler, o Options) {
	_, err := run(t, h, `{"message":"boom 42"}`, NewRecorder(), o)
	if err == nil || !strings.Contains(err.Error(), "boom 42") {
		t.Fatalf("err = %v, want one that says boom 42", err)
	}
	if conveyor.IsPermanent(err) {
		t.Fatalf("err = %v is permanent, want a retryable failure", err)
	}
}

func testFailPermanently(t *testing.T, h runner.Handler, o Options) {
	_, err := run(t, h, `{"message":"bad input 7"}`, NewRecorder(), o)
	if err == nil || !strings.Contains(err.Error(), "bad input 7") || !conveyor.IsPermanent(err) {
		t.Fatalf("err = %v (permanent %v), want a permanent error that says bad input 7", err, conveyor.IsPermanent(err))
	}
}

func testReport(t *testing.T, h runner.Handler, o Options) {
	rec := NewRecorder()
	out, err := run(t, h, `{}`, rec, o)
	if err != nil || !sameJSON(t, out, json.RawMessage(`{"ok":true}`)) {
		t.Fatalf("Run: %s, %v", out, err)
	}
	if !rec.HasProgress(50, "half") {
		t.Errorf("progress %+v, want 50 half", rec.Progresses())
	}
	if !rec.HasLine("hello from the job") {
		t.Errorf("logs %+v, want the line \"hello from the job\"", rec.Lines())
	}
}

func testCancel(t *testing.T, h runner.Handler, o Options) {
	rec := NewRecorder()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	errc := make(chan error, 1)
	go func() { _, err := h.Run(ctx, task(`{}`, rec)); errc <- err }()
	if o.Blocking != nil {
		o.Blocking(t)
	} else {
		rec.WaitFor(t, "the job to block", func() bool { return rec.HasProgress(1, "blocking") })
	}
	cancel(errors.New("canceled by the test"))
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("Run returned no error after its context was canceled")
		}
	case <-time.After(o.Stop):
		t.Fatalf("Run did not return within %v of the cancel", o.Stop)
	}
}

func testDeadline(t *testing.T, h runner.Handler, o Options) {
	rec := NewRecorder()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	errc := make(chan error, 1)
	go func() { _, err := h.Run(ctx, task(`{}`, rec)); errc <- err }()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("Run returned no error after its deadline")
		}
	case <-time.After(o.Stop + 300*time.Millisecond):
		t.Fatalf("Run did not return within %v of its deadline", o.Stop)
	}
}

func sameJSON(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("output is not JSON: %s", a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("bad JSON in the test: %s", b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}
