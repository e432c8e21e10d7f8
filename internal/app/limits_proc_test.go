package app

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/spawn"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner/execkind"
	"github.com/conveyor-run/conveyor/runner/workerkind"
)

// TestUserAndRlimits: an exec algorithm with user: runs as that user and
// can read its input; one past rlimits.memory fails; one past
// rlimits.cpu_seconds is killed. The same allocation without the limit
// succeeds, so the failure is the limit's.
func TestUserAndRlimits(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	script, err := filepath.Abs("testdata/limits.sh")
	if err != nil {
		t.Fatal(err)
	}
	alloc := []string{testenv.Python(t), "-c", "b = bytearray(200 << 20); print('OUTPUT: {\"allocated\": true}')"}
	cfg := testConfig(t, t.TempDir())
	cfg.Algorithms = append(cfg.Algorithms,
		execkind.Entry(config.Algorithm{Name: "whoami"}, execkind.Options{Command: []string{"sh", script, "whoami"}, User: "nobody"}),
		execkind.Entry(config.Algorithm{Name: "alloc_limited", MaxAttempts: 1}, execkind.Options{Command: alloc, Rlimits: spawn.Rlimits{Memory: 100 << 20}}),
		execkind.Entry(config.Algorithm{Name: "alloc_free", MaxAttempts: 1}, execkind.Options{Command: alloc}),
		execkind.Entry(config.Algorithm{
			Name:        "spin",
			MaxAttempts: 1,
		}, execkind.Options{
			Command: []string{"sh", script, "spin"},
			User:    "nobody",
			Rlimits: spawn.Rlimits{CPUSeconds: 1, OpenFiles: 64},
		}),
	)
	cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, cfg)

	j := s.wait(s.submit(map[string]any{"algorithm": "whoami"}, "", 202).ID)
	var who struct {
		UID, GID      int
		InputReadable bool `json:"input_readable"`
	}
	if j.Status != conveyor.StatusSucceeded || json.Unmarshal(j.Output, &who) != nil {
		t.Fatalf("whoami: %s %s %+v", j.Status, j.Output, j.Error)
	}
	if who.UID != 65534 || who.GID != 65534 || !who.InputReadable {
		t.Fatalf("whoami ran as %+v, want uid and gid 65534 with its input readable", who)
	}

	if j := s.wait(s.submit(map[string]any{"algorithm": "alloc_free"}, "", 202).ID); j.Status != conveyor.StatusSucceeded {
		t.Fatalf("200 MiB without a limit: %s %+v", j.Status, j.Error)
	}
	j = s.wait(s.submit(map[string]any{"algorithm": "alloc_limited"}, "", 202).ID)
	if j.Status != conveyor.StatusFailed || j.Error == nil || !strings.Contains(j.Error.Detail, "MemoryError") {
		t.Fatalf("200 MiB under a 100 MiB limit: %s %+v", j.Status, j.Error)
	}

	j = s.wait(s.submit(map[string]any{"algorithm": "spin"}, "", 202).ID)
	if j.Status != conveyor.StatusFailed || j.Error == nil || j.Error.Type != conveyor.ErrorTypeCrashed ||
		!strings.Contains(j.Error.Message, "CPU time limit exceeded") {
		t.Fatalf("spinning past cpu_seconds 1: %s %+v", j.Status, j.Error)
	}
}

// TestExecNoShell: an exec command is an argv list given to the program
// as it is: nothing in it is expanded, substituted or split by a shell.
func TestExecNoShell(t *testing.T) {
	args := []string{"$(id -u)", "a; echo b", "*", "`x`", "$HOME", "x > y"}
	cfg := testConfig(t, t.TempDir())
	cfg.Algorithms = append(cfg.Algorithms, execkind.Entry(config.Algorithm{Name: "argv"}, execkind.Options{
		Command: append([]string{testenv.Python(t), "-c", "import sys, json; print('OUTPUT: ' + json.dumps(sys.argv[1:]))"}, args...),
	}))
	cfg.WithDefaults()
	s := startServer(t, cfg)
	j := s.wait(s.submit(map[string]any{"algorithm": "argv"}, "", 202).ID)
	var got []string
	if j.Status != conveyor.StatusSucceeded || json.Unmarshal(j.Output, &got) != nil || !slices.Equal(got, args) {
		t.Fatalf("argv %s (%s %+v), want %q", j.Output, j.Status, j.Error, args)
	}
}

// TestWorkerRlimits: a worker process started through the rlimits helper
// still speaks the protocol on its inherited descriptors, and runs within
// its limits.
func TestWorkerRlimits(t *testing.T) {
	dir, _ := filepath.Abs("testdata")
	cfg := testConfig(t, t.TempDir())
	cfg.Algorithms = []config.Algorithm{pyWorker(testenv.Python(t), dir, "mymodule", config.Algorithm{Workers: config.Workers{Min: 1, Max: 1}}, workerkind.Options{Process: spawn.Options{Rlimits: spawn.Rlimits{Memory: 2 << 30, OpenFiles: 200}}})}
	cfg.WithDefaults()
	s := startServer(t, cfg)
	j := s.wait(s.submit(map[string]any{"algorithm": "word_count", "input": map[string]any{"text": "a b a"}}, "", 202).ID)
	if j.Status != conveyor.StatusSucceeded {
		t.Fatalf("word_count: %s %+v", j.Status, j.Error)
	}
	// The worker is a child of its supervisor (see spawn.Start), a child
	// of this test; the supervisor runs without the limits.
	var limits []string
	var walk func(pid int)
	walk = func(pid int) {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
		for _, f := range tasks {
			data, _ := os.ReadFile(f)
			for _, child := range strings.Fields(string(data)) {
				cmdline, _ := os.ReadFile("/proc/" + child + "/cmdline")
				if strings.HasPrefix(string(cmdline), "conveyor:supervise\x00") {
					n, _ := strconv.Atoi(child)
					walk(n)
				} else if strings.Contains(string(cmdline), "conveyor.worker") {
					l, _ := os.ReadFile("/proc/" + child + "/limits")
					limits = append(limits, string(l))
				}
			}
		}
	}
	walk(os.Getpid())
	if len(limits) != 1 {
		t.Fatalf("found %d worker processes, want 1", len(limits))
	}
	for _, want := range []string{`Max open files\s+200\s+200`, `Max address space\s+2147483648\s+2147483648`} {
		if !regexp.MustCompile(want).MatchString(limits[0]) {
			t.Errorf("the worker's limits lack %q:\n%s", want, limits[0])
		}
	}
}
