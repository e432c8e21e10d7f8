package runner

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker/brokertest"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/metrics"
)

// sharedHandler is a handler of a kind whose algorithms of one entry run
// on the same workers: 2 processes of 3 jobs each, whatever the entry's
// workers.max (a kind caps it by its own keys, as the worker kind does
// by GPUs).
type sharedHandler struct{}

func (sharedHandler) Run(context.Context, *Task) (json.RawMessage, error) { return nil, nil }
func (sharedHandler) Workers() (processes, jobsEach int)                  { return 2, 3 }

type sharedKind struct{}

func (sharedKind) Provision(_ context.Context, e config.Algorithm) ([]Served, error) {
	alg := func(name string) Served {
		return Served{Algorithm: conveyor.Algorithm{Name: name, Kind: "shared", InputSchema: conveyor.AnyObjectSchema}, Handler: sharedHandler{}}
	}
	return []Served{alg(e.Name + "_a"), alg(e.Name + "_b")}, nil
}

func init() { RegisterKind("shared", sharedKind{}) }

// TestSlotsAskTheKind: the runner sizes an entry by what its handlers
// say (SharedWorkers), not by reading a kind's keys: the shared entry's
// two algorithms count 2 × 3 slots once, on 2 processes; another entry
// counts workers.max for each algorithm.
func TestSlotsAskTheKind(t *testing.T) {
	_, b := brokertest.Open(t)
	testHandlers.Store("slots_plain", HandlerFunc(func(context.Context, *Task) (json.RawMessage, error) { return nil, nil }))
	r, err := New(t.Context(), Config{Broker: b, Metrics: metrics.New(), Algorithms: []config.Algorithm{
		{Name: "slots", Kind: "shared", Workers: config.Workers{Max: 8}},
		{Name: "slots_plain", Kind: "test", Workers: config.Workers{Max: 4}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	info := r.Info()
	if info.Capacity != 6+4 || info.Processes != 2 || info.Workers["slots_a"] != 6 || info.Workers["slots_b"] != 6 || info.Workers["slots_plain"] != 4 {
		t.Errorf("capacity %d, processes %d, workers %v; want 10, 2, 6 for each shared algorithm and 4", info.Capacity, info.Processes, info.Workers)
	}
}
