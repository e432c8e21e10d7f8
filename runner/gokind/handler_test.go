package gokind

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/runner"
)

type sumIn struct {
	Values []int64 `json:"values"`
	Panic  bool    `json:"panic,omitempty"`
	Fail   string  `json:"fail,omitempty"`
	NaN    bool    `json:"nan,omitempty"`
}

type sumOut struct {
	Sum   int64   `json:"sum"`
	Ratio float64 `json:"ratio,omitempty"`
}

var errFail = errors.New("failed as asked")

// sum adds the values, reporting progress after each, and misbehaves on
// request.
func sum(ctx context.Context, in sumIn) (sumOut, error) {
	var out sumOut
	for i, v := range in.Values {
		out.Sum += v
		conveyor.SetProgress(ctx, 100*float64(i+1)/float64(len(in.Values)), "adding")
	}
	conveyor.Logf(ctx, "sum of %d values", len(in.Values))
	switch {
	case in.Panic:
		explode(in.Values)
	case in.Fail == "permanent":
		return out, conveyor.Permanent(errFail)
	case in.Fail == "job":
		return out, &conveyor.JobError{Type: conveyor.ErrorTypeError, Message: "job error"}
	case in.Fail != "":
		return out, errFail
	case in.NaN:
		out.Ratio = math.NaN()
	}
	return out, ctx.Err()
}

func explode(values []int64) {
	_ = values[len(values)] // index out of range
}

// recorder is a conveyor.Reporter that keeps what it is told.
type recorder struct {
	mu       sync.Mutex
	progress []conveyor.Progress
	logs     []string
}

func (r *recorder) Progress(percent float64, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.progress = append(r.progress, conveyor.Progress{Percent: percent, Message: message})
}

func (r *recorder) Log(stream, line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, stream+": "+line)
}

type nopReporter struct{}

func (nopReporter) Progress(float64, string) {}
func (nopReporter) Log(string, string)       {}

func TestRun(t *testing.T) {
	h := &handler[sumIn, sumOut]{fn: sum}
	tests := []struct {
		name     string
		input    string
		want     string // the output
		wantErr  string // a substring of the error
		check    func(t *testing.T, err error)
		progress int // number of progress reports
	}{
		{name: "ok", input: `{"values":[1,2,32416190071]}`, want: `{"sum":32416190074}`, progress: 3},
		{name: "empty input is {}", input: ``, want: `{"sum":0}`},
		{name: "unknown fields are ignored", input: `{"values":[1],"x":1}`, want: `{"sum":1}`, progress: 1},
		{
			name: "input of the wrong type", input: `{"values":"many"}`,
			wantErr: "invalid input: json: cannot unmarshal string into Go struct field sumIn.values of type []int64",
			check: func(t *testing.T, err error) {
				if !conveyor.IsPermanent(err) {
					t.Error("not permanent")
				}
			},
		},
		{name: "malformed input", input: `{"values":[1,`, wantErr: "invalid input: unexpected end of JSON input"},
		{
			name: "error", input: `{"fail":"yes"}`, wantErr: "failed as asked",
			check: func(t *testing.T, err error) {
				if !errors.Is(err, errFail) || conveyor.IsPermanent(err) {
					t.Errorf("error %#v, want errFail, retryable", err)
				}
			},
		},
		{
			name: "permanent error", input: `{"fail":"permanent"}`, wantErr: "failed as asked",
			check: func(t *testing.T, err error) {
				if !conveyor.IsPermanent(err) {
					t.Error("not permanent")
				}
			},
		},
		{
			name: "job error", input: `{"fail":"job"}`, wantErr: "job error",
			check: func(t *testing.T, err error) {
				var je *conveyor.JobError
				if !errors.As(err, &je) || je.Type != conveyor.ErrorTypeError {
					t.Errorf("error %#v, want the JobError", err)
				}
			},
		},
		{name: "output not JSON", input: `{"nan":true}`, wantErr: "cannot encode the output as JSON: json: unsupported value: NaN"},
		{
			name: "panic", input: `{"values":[1],"panic":true}`, progress: 1,
			wantErr: "crashed: panic: runtime error: index out of range [1] with length 1",
			check: func(t *testing.T, err error) {
				var je *conveyor.JobError
				if !errors.As(err, &je) || je.Type != conveyor.ErrorTypeCrashed {
					t.Fatalf("error %#v, want a crashed JobError", err)
				}
				first, _, _ := strings.Cut(je.Detail, "\n")
				if !strings.HasPrefix(first, callFrame[:len(callFrame)-len("call[")]+"explode(") {
					t.Errorf("stack starts with %q, want the panicking function", first)
				}
				for _, notWant := range []string{"runtime/panic.go", "runtime/debug", ".call[", "(*handler[", "+0x"} {
					if strings.Contains(je.Detail, notWant) {
						t.Errorf("stack contains %q:\n%s", notWant, je.Detail)
					}
				}
				t.Logf("detail:\n%s", je.Detail)
				if !strings.Contains(je.Detail, "handler_test.go:") {
					t.Errorf("stack lacks the file of the frames:\n%s", je.Detail)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			out, err := h.Run(context.Background(), &runner.Task{
				JobID: "j1", Algorithm: "sum", Input: json.RawMessage(tt.input), Attempt: 1, Reporter: rec,
			})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Run = %s, %v; want an error containing %q", out, err, tt.wantErr)
				}
				if out != nil {
					t.Errorf("output %s with an error", out)
				}
			} else if err != nil || string(out) != tt.want {
				t.Fatalf("Run = %s, %v; want %s", out, err, tt.want)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
			if len(rec.progress) != tt.progress {
				t.Errorf("%d progress reports, want %d", len(rec.progress), tt.progress)
			}
		})
	}
}

func TestRunReportsLogs(t *testing.T) {
	h := &handler[sumIn, sumOut]{fn: sum}
	rec := &recorder{}
	if _, err := h.Run(context.Background(), &runner.Task{Input: json.RawMessage(`{"values":[1,2]}`), Reporter: rec}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"log: sum of 2 values"}; strings.Join(rec.logs, "|") != strings.Join(want, "|") {
		t.Errorf("logs %q, want %q", rec.logs, want)
	}
	if last := rec.progress[len(rec.progress)-1]; last.Percent != 100 {
		t.Errorf("last progress %+v", last)
	}
}

func TestRunWithoutReporter(t *testing.T) {
	h := &handler[sumIn, sumOut]{fn: sum}
	out, err := h.Run(context.Background(), &runner.Task{Input: json.RawMessage(`{"values":[3]}`)})
	if err != nil || string(out) != `{"sum":3}` {
		t.Fatalf("Run = %s, %v", out, err)
	}
}

func TestRunCanceled(t *testing.T) {
	h := &handler[sumIn, sumOut]{fn: sum}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := h.Run(ctx, &runner.Task{Input: json.RawMessage(`{"values":[3]}`), Reporter: &recorder{}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestRunPointerInput(t *testing.T) {
	h := &handler[*sumIn, sumOut]{fn: func(ctx context.Context, in *sumIn) (sumOut, error) {
		return sum(ctx, *in)
	}}
	out, err := h.Run(context.Background(), &runner.Task{Reporter: &recorder{}})
	if err != nil || string(out) != `{"sum":0}` {
		t.Fatalf("Run with no input into a pointer = %s, %v", out, err)
	}
}

func TestTrimStack(t *testing.T) {
	long := strings.Repeat("x", 2*maxStack)
	if got := trimStack(long); len(got) > maxStack+len("…\n") {
		t.Errorf("trimmed to %d bytes, want at most %d", len(got), maxStack)
	}
	if got := trimStack("no markers\n\tfile.go:1 +0x1f\n"); got != "no markers\n\tfile.go:1\n" {
		t.Errorf("stack without markers = %q", got)
	}
}

func BenchmarkRun(b *testing.B) {
	h := &handler[sumIn, sumOut]{fn: sum}
	task := &runner.Task{Input: json.RawMessage(`{"values":[1,2,3]}`), Reporter: nopReporter{}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Run(context.Background(), task); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRunTraceparent(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	h := &handler[struct{}, string]{fn: func(ctx context.Context, _ struct{}) (string, error) {
		return conveyor.TraceparentFrom(ctx), nil
	}}
	out, err := h.Run(context.Background(), &runner.Task{Input: json.RawMessage(`{}`), Traceparent: tp})
	if err != nil || string(out) != `"`+tp+`"` {
		t.Fatalf("Run = %s, %v; want the task's traceparent", out, err)
	}
}
