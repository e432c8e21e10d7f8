package gateway

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/schema"
)

// registry is the gateway's view of the algorithms runners announced and of
// the runners that are alive, fed by watches of the two registry buckets.
type registry struct {
	lapse time.Duration // a runner not seen for this long is gone

	mu      sync.RWMutex
	algs    map[string]*known
	runners map[string]conveyor.RunnerInfo
	changed chan struct{} // closed and replaced on every put of an algorithm or runner
}

// known is a registered algorithm with its input schema compiled once.
type known struct {
	conveyor.Algorithm
	input *schema.Schema
	err   error      // the schema did not compile: submits get this error
	query queryShape // for inputs from a query string
}

func newRegistry(lapse time.Duration) *registry {
	return &registry{lapse: lapse, algs: map[string]*known{}, runners: map[string]conveyor.RunnerInfo{}, changed: make(chan struct{})}
}

func (g *registry) putAlgorithm(data []byte) {
	var a conveyor.Algorithm
	if json.Unmarshal(data, &a) != nil || a.Name == "" {
		return
	}
	k := &known{Algorithm: a, query: newQueryShape(a.InputSchema)}
	k.input, k.err = schema.Compile(a.InputSchema)
	g.mu.Lock()
	g.algs[a.Name] = k
	close(g.changed)
	g.changed = make(chan struct{})
	g.mu.Unlock()
}

// await returns when every algorithm in names is registered and the runner
// (if not "") is known, or ctx's error when it ends first.
func (g *registry) await(ctx context.Context, runner string, names []string) error {
	for {
		g.mu.RLock()
		missing, changed := "", g.changed
		for _, n := range names {
			if g.algs[n] == nil {
				missing = "algorithm " + n
				break
			}
		}
		if _, ok := g.runners[runner]; runner != "" && !ok {
			missing = "runner " + runner
		}
		g.mu.RUnlock()
		if missing == "" {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("%s not registered: %w", missing, ctx.Err())
		}
	}
}

func (g *registry) removeAlgorithm(name string) {
	g.mu.Lock()
	delete(g.algs, name)
	g.mu.Unlock()
}

func (g *registry) putRunner(data []byte) {
	var r conveyor.RunnerInfo
	if json.Unmarshal(data, &r) != nil || r.ID == "" {
		return
	}
	g.mu.Lock()
	g.runners[r.ID] = r
	close(g.changed)
	g.changed = make(chan struct{})
	g.mu.Unlock()
}

func (g *registry) removeRunner(id string) {
	g.mu.Lock()
	delete(g.runners, id)
	g.mu.Unlock()
}

// algorithm returns the registered algorithm named name, or ENOTFOUND.
func (g *registry) algorithm(name string) (*known, error) {
	g.mu.RLock()
	k := g.resolve(g.algs[name])
	g.mu.RUnlock()
	if k == nil {
		return nil, conveyor.Errorf(conveyor.ENOTFOUND, "unknown algorithm %q", name)
	}
	return k, nil
}

// resolve returns k, or for a pipeline, k with the schemas of its stages:
// the input schema of the first, the output schema of the last — so a
// pipeline's input is checked when it is submitted, not when a stage runs.
// Stages not registered yet leave the schema open. g.mu is held.
func (g *registry) resolve(k *known) *known {
	if k == nil || k.Pipeline == nil || len(k.Pipeline.Stages) == 0 {
		return k
	}
	r := *k
	stages := k.Pipeline.Stages
	if first := g.algs[stages[0]]; first != nil && first.Pipeline == nil {
		r.InputSchema, r.input, r.err, r.query = first.InputSchema, first.input, first.err, first.query
	}
	if last := g.algs[stages[len(stages)-1]]; last != nil {
		r.OutputSchema = last.OutputSchema
	}
	return &r
}

// algorithms returns every registered algorithm, sorted by name.
func (g *registry) algorithms() []*known {
	g.mu.RLock()
	out := make([]*known, 0, len(g.algs))
	for _, k := range g.algs {
		out = append(out, g.resolve(k))
	}
	g.mu.RUnlock()
	slices.SortFunc(out, func(a, b *known) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// live returns the runners seen within the lapse, sorted by id.
func (g *registry) live(now time.Time) []conveyor.RunnerInfo {
	g.mu.RLock()
	out := make([]conveyor.RunnerInfo, 0, len(g.runners))
	for _, r := range g.runners {
		if now.Sub(r.LastSeen) <= g.lapse {
			out = append(out, r)
		}
	}
	g.mu.RUnlock()
	slices.SortFunc(out, func(a, b conveyor.RunnerInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
