//go:build unix

package workerkind

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner"
)

// TestGPUsPinned: with resources {gpu: 1} per process on a runner of two
// GPUs, an entry of workers.max 4 runs two processes at most, each with a
// GPU of its own in CUDA_VISIBLE_DEVICES and CONVEYOR_GPU; a third job
// waits for a process; a process that exits gives its GPU back. No GPU is
// needed: the runner hands out indexes.
func TestGPUsPinned(t *testing.T) {
	gpus := runner.NewDevices(2)
	entry := pyEntry(t, func(e *config.Algorithm, o *Options) {
		e.Workers.Max = 4
		o.Resources = map[string]int{"gpu": 1}
	})
	served, err := Kind{}.Provision(runner.WithDevices(context.Background(), gpus), entry)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeAll(served) })
	var h runner.Handler
	for _, s := range served {
		if s.Algorithm.Name == "gpus" {
			h = s.Handler
		}
	}
	pl := poolOf(h)
	path := filepath.Join(t.TempDir(), "go")
	input := fmt.Sprintf(`{"path": %q}`, path)
	var jobs []*started
	for i := range 3 {
		jobs = append(jobs, start(h, fmt.Sprintf("job-%d", i), "gpus", input))
	}
	testenv.Eventually(t, "two processes, all the GPUs", func() bool {
		n, _ := pl.size()
		ids, _ := gpus.Take(1)
		gpus.Give(ids)
		return n == 2 && ids == nil
	})
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, j := range jobs {
		<-j.done
		if j.err != nil {
			t.Fatalf("%s: %v", j.id, j.err)
		}
		got = append(got, strings.Trim(string(j.out), `"`))
	}
	slices.Sort(got)
	got = slices.Compact(got)
	if !slices.Equal(got, []string{"0|0", "1|1"}) {
		t.Errorf("the processes saw GPUs %v, want 0 and 1, one each", got)
	}
	if n, _ := pl.size(); n > 2 {
		t.Errorf("%d processes on two GPUs", n)
	}

	// An entry that needs more GPUs than the runner has is refused.
	_, err = Kind{}.Provision(runner.WithDevices(context.Background(), runner.NewDevices(1)), pyEntry(t, func(e *config.Algorithm, o *Options) {
		o.Resources = map[string]int{"gpu": 2}
	}))
	if err == nil || !strings.Contains(err.Error(), "needs 2 GPU(s)") {
		t.Errorf("an entry needing 2 GPUs of 1: %v", err)
	}
}

func closeAll(served []runner.Served) {
	for _, s := range served {
		if c, ok := s.Handler.(interface{ Close() error }); ok {
			_ = c.Close()
		}
	}
}
