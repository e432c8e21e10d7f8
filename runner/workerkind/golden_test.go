//go:build unix

package workerkind

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/spawn"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner"
	"github.com/conveyor-run/conveyor/workerproto"
)

// replayEnv names the transcript the test binary replays when it is
// started as a worker.
const replayEnv = "WORKERKIND_REPLAY_TRANSCRIPT"

// replayEntry is an entry whose one worker process is this test binary
// replaying the transcript at path (replayWorker).
func replayEntry(path string) config.Algorithm {
	return Entry(config.Algorithm{Workers: config.Workers{Max: 1}, Grace: conveyor.Duration(10 * time.Second), MaxAttempts: 3},
		Options{Process: spawn.Options{Command: []string{os.Args[0]}, Env: map[string]string{replayEnv: path}}})
}

// replayWorker plays the worker's side of a golden transcript on fds 3
// and 4: it writes the worker's lines and checks that the runner's lines
// are the transcript's. It returns the exit status: 0 when the runner
// said exactly what the transcript says and then closed fd 3.
func replayWorker(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	in := bufio.NewReader(os.NewFile(3, "jobs"))
	out := os.NewFile(4, "events")
	for i, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		m, err := workerproto.Decode(line)
		if err != nil {
			fmt.Fprintf(os.Stderr, "line %d: %v\n", i+1, err)
			return 2
		}
		if workerproto.FromWorker(m.Type()) {
			if _, err := out.Write(append(line, '\n')); err != nil {
				return 2
			}
			continue
		}
		got, err := in.ReadBytes('\n')
		if err != nil || !sameJSON(line, got) {
			fmt.Fprintf(os.Stderr, "transcript line %d: want %s\ngot %s (%v)\n", i+1, line, got, err)
			return 3
		}
	}
	if extra, err := in.ReadBytes('\n'); err == nil {
		fmt.Fprintf(os.Stderr, "the runner sent more than the transcript: %s", extra)
		return 3
	}
	return 0
}

func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// TestGoldenTranscripts runs the jobs of each transcript of workerproto
// through the kind against a worker that replays the transcript: the
// runner must send exactly the transcript's lines and understand the
// worker's answers as the transcript means them.
func TestGoldenTranscripts(t *testing.T) {
	paths, err := filepath.Glob("../../workerproto/testdata/*.jsonl")
	if err != nil || len(paths) < 3 {
		t.Fatalf("golden transcripts: %d found (%v)", len(paths), err)
	}
	for _, path := range paths {
		if filepath.Base(path) == "malformed.jsonl" || filepath.Base(path) == "prefetch.jsonl" {
			continue // not a conversation; one of jobs at once (TestGoldenPrefetch)
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			abs, _ := filepath.Abs(path)
			hs, _ := provision(t, Kind{}, replayEntry(abs))
			data, _ := os.ReadFile(path)
			var jobs []*workerproto.Job
			var batches []*workerproto.Batch
			answers := map[string]workerproto.Message{}
			for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
				switch m, _ := workerproto.Decode(line); m := m.(type) {
				case *workerproto.Job:
					jobs = append(jobs, m)
				case *workerproto.Batch:
					batches = append(batches, m)
				case *workerproto.Result:
					answers[m.ID] = m
				case *workerproto.Error:
					answers[m.ID] = m
				}
			}
			for _, j := range jobs {
				h := hs[j.Algorithm]
				if h == nil { // a job for an algorithm the worker lacks
					h = &handler{name: j.Algorithm, pool: poolOf(hs["word_count"])}
				}
				replayJob(t, h, j, answers[j.ID])
			}
			for _, b := range batches {
				replayBatch(t, hs[b.Algorithm], b, answers)
			}
		})
	}
}

// replayBatch runs the jobs of a batch of a transcript, in its order,
// each one once the one before it waits for the batch, and checks each
// job's outcome.
func replayBatch(t *testing.T, h runner.Handler, b *workerproto.Batch, answers map[string]workerproto.Message) {
	t.Helper()
	bh, ok := h.(*batchHandler)
	if !ok {
		t.Fatalf("%s: handler %T, want a batch handler", b.Algorithm, h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	type ran struct {
		out json.RawMessage
		err error
	}
	results := make([]chan ran, len(b.Jobs))
	for i, j := range b.Jobs {
		results[i] = make(chan ran, 1)
		task := &runner.Task{JobID: j.ID, Algorithm: b.Algorithm, Input: j.Input, Attempt: j.Attempt, Traceparent: j.Traceparent, Reporter: &recorder{}}
		if j.Deadline != nil {
			task.Deadline = *j.Deadline
		}
		go func() {
			out, err := h.Run(ctx, task)
			results[i] <- ran{out, err}
		}()
		if i < len(b.Jobs)-1 {
			testenv.Eventually(t, fmt.Sprintf("job %s queued for a batch", j.ID), func() bool {
				bh.mu.Lock()
				defer bh.mu.Unlock()
				return len(bh.queue) == i+1
			})
		}
	}
	for i, j := range b.Jobs {
		got := <-results[i]
		switch want := answers[j.ID].(type) {
		case *workerproto.Result:
			if got.err != nil || !sameJSON(got.out, want.Output) {
				t.Errorf("job %s: %s, %v; want %s", j.ID, got.out, got.err, want.Output)
			}
		case *workerproto.Error:
			je := jobError(t, got.err)
			if !strings.HasSuffix(je.Message, want.Error.Message) || conveyor.IsPermanent(got.err) == want.Retryable {
				t.Errorf("job %s: error %+v (permanent %v), want %+v", j.ID, je, conveyor.IsPermanent(got.err), want)
			}
		default:
			t.Fatalf("job %s: no answer in the transcript", j.ID)
		}
	}
}

// replayJob runs one job of a transcript and checks its outcome. A job
// whose answer is "canceled" is canceled once it reports progress.
func replayJob(t *testing.T, h runner.Handler, j *workerproto.Job, want workerproto.Message) {
	t.Helper()
	if h == nil || want == nil {
		t.Fatalf("job %s: no handler for %s or no answer in the transcript", j.ID, j.Algorithm)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rec := &recorder{}
	e, isErr := want.(*workerproto.Error)
	canceled := isErr && e.Error.Type == "canceled"
	if canceled {
		var stop context.CancelFunc
		ctx, stop = context.WithCancel(ctx)
		done := make(chan struct{})
		defer func() { <-done }()
		go func() {
			defer close(done)
			for ctx.Err() == nil {
				if _, p := rec.snapshot(); len(p) > 0 {
					stop()
					return
				}
				time.Sleep(2 * time.Millisecond) // polling the recorder
			}
		}()
	}
	out, err := h.Run(ctx, &runner.Task{JobID: j.ID, Algorithm: j.Algorithm, Input: j.Input, Attempt: j.Attempt, Traceparent: j.Traceparent, Reporter: rec})
	switch {
	case canceled:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "the worker stopped the job") {
			t.Errorf("job %s: %v, want it stopped by the worker", j.ID, err)
		}
	case isErr:
		je := jobError(t, err)
		if !strings.HasSuffix(je.Message, e.Error.Message) || conveyor.IsPermanent(err) == e.Retryable {
			t.Errorf("job %s: error %+v (permanent %v), want %+v", j.ID, je, conveyor.IsPermanent(err), e)
		}
	default:
		if err != nil || !sameJSON(out, want.(*workerproto.Result).Output) {
			t.Errorf("job %s: %s, %v; want %s", j.ID, out, err, want.(*workerproto.Result).Output)
		}
	}
}
