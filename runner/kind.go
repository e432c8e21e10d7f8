package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/metrics"
)

// Task is one attempt of a job, as a Handler sees it.
type Task struct {
	JobID     string
	Algorithm string
	Input     json.RawMessage
	Attempt   int
	// Traceparent is the job's W3C trace context, or "".
	Traceparent string
	// Deadline is when the attempt times out; zero means no timeout. The
	// context given to Run carries the same deadline.
	Deadline time.Time
	// Timeout is the attempt's timeout, zero for none: for a LateBeginner,
	// Deadline is Timeout after its Begin.
	Timeout time.Duration
	// Reporter takes the attempt's progress and log lines. Never nil.
	Reporter conveyor.Reporter

	begin     func(time.Time) // arms the timeout; nil when the runner keeps none
	begun     atomic.Int64    // when Begin was called, unix ns; 0: not called
	artifacts *artifactDir    // nil for a handler that is not a LocalFiles
	route     conveyor.Route
}

// SetRoute records where a pipeline job goes after this stage, as the
// algorithm's output said (conveyor.Final, conveyor.Next, FINAL: lines…).
// Outside a pipeline the route is ignored. Call it from Run's goroutine
// before Run returns.
func (t *Task) SetRoute(r conveyor.Route) { t.route = r }

// Route returns what SetRoute recorded.
func (t *Task) Route() conveyor.Route { return t.route }

// ArtifactDir returns the attempt's own directory for the artifacts it
// writes, empty, made on the first call (an attempt that writes none costs
// nothing). Each regular file the handler leaves directly in it becomes an
// artifact of the job, named as the file, once Run succeeds (see
// LocalFiles). It returns "" for a handler that is not a LocalFiles, or a
// Task not made by a runner, and an error when the directory cannot be
// made. It is safe to call from any goroutine until Run returns.
func (t *Task) ArtifactDir() (string, error) {
	if t.artifacts == nil {
		return "", nil
	}
	return t.artifacts.get()
}

// Begin tells the runner that the attempt's work begins now: for a handler
// that is a LateBeginner, the attempt's timeout starts here and Deadline is
// set, and the job's start is recorded as now (Begun). For other handlers
// the runner ignores it. Call it at most once, from
// Run's goroutine or from one Run waits for (a batcher that sends the job
// with others): Deadline is then for that goroutine to read.
func (t *Task) Begin() {
	now := time.Now()
	t.begun.Store(now.UnixNano())
	if t.begin != nil {
		t.begin(now)
	}
}

// Begun returns when Begin was called: when a LateBeginner's work began
// (a job a worker held behind others starts then). It returns the zero
// time if Begin was not called. Safe from any goroutine.
func (t *Task) Begun() time.Time {
	if ns := t.begun.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// LateBeginner is implemented by handlers whose Run first gets something
// ready — a worker process to start and load its model, a free process to
// wait for — and calls Task.Begin once the work itself begins: the
// attempt's timeout counts from then, not from the start of Run. Such a
// handler must bound its own preparation.
type LateBeginner interface {
	BeginsLate()
}

// Handler runs attempts of one algorithm.
//
// Run returns the attempt's output, a JSON value, or an error. A
// *conveyor.JobError keeps its type (e.g. crashed); an error wrapped by
// conveyor.Permanent fails the job without further attempts; any other error
// fails the attempt with its text as message. When ctx is done (cancel,
// timeout, shutdown) Run must stop the work and return promptly — within
// the algorithm's grace period — after which the runner maps ctx's cause to
// the job's error.
//
// Run is called concurrently, up to the algorithm's workers.max times.
type Handler interface {
	Run(ctx context.Context, t *Task) (json.RawMessage, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, t *Task) (json.RawMessage, error)

// Run calls f.
func (f HandlerFunc) Run(ctx context.Context, t *Task) (json.RawMessage, error) { return f(ctx, t) }

// Served is one algorithm a kind serves: its description as the registry
// publishes it, and the handler that runs its jobs.
type Served struct {
	Algorithm conveyor.Algorithm
	Handler   Handler
}

// Kind is a way of executing algorithms: in-process Go, one process per job,
// a pool of worker processes, an HTTP service. Provision turns one entry of
// the config's algorithms list into the algorithms it serves and their
// handlers; it returns an error naming the entry's problem when the entry is
// invalid for the kind (for example a field the kind does not use).
//
// A Handler that also implements io.Closer is closed when the runner stops.
type Kind interface {
	Provision(ctx context.Context, entry config.Algorithm) ([]Served, error)
}

// SharedWorkers is implemented by the handlers of kinds whose algorithms
// of one entry run on the same workers — the worker kind's processes.
// Workers returns how many workers the entry runs at most on this runner
// (workers.max, or fewer when the runner has too few GPUs for them) and
// how many jobs each holds at once (its concurrency). Such an entry runs
// at most processes × jobsEach jobs at once in all, not that many of each
// of its algorithms, and the runner's capacity, busy and processes counts
// say so. A handler that is not one runs workers.max jobs at once. The
// runner asks the handler, not the entry, so that the keys that size a
// kind's workers stay the kind's own.
type SharedWorkers interface {
	Workers() (processes, jobsEach int)
}

// Batcher is implemented by handlers that run several jobs of their
// algorithm together, in one call of the code behind them (the worker
// kind's batch algorithms). The runner gives such an algorithm BatchSize
// times the entry's slots, so that Run is called for enough jobs at once
// to fill its batches: Run is then called concurrently up to the entry's
// slots (see SharedWorkers) × BatchSize times.
type Batcher interface {
	BatchSize() int
}

// Prefetcher is implemented by handlers that take jobs ahead of need —
// the worker kind hands a process its next jobs while it still runs
// others, so that it never waits for the runner between short jobs. The
// runner then calls Run for up to Prefetch jobs beyond the entry's slots
// (and pulls that many more from the queue); Run holds such a job until a
// slot frees, and only then calls Task.Begin. A job held so is counted as
// prefetched, not busy, in the runner's record. Prefetch may change over
// time (the worker kind holds more ahead while its jobs are short): the
// runner asks it whenever it counts its slots, so it must be cheap.
type Prefetcher interface {
	Prefetch() int
}

type loggerKey struct{}

type metricsKey struct{}

// MetricsOf returns the runner's metrics from the context given to
// Kind.Provision, for what a kind measures itself; nil when there are
// none.
func MetricsOf(ctx context.Context) *metrics.Metrics {
	m, _ := ctx.Value(metricsKey{}).(*metrics.Metrics)
	return m
}

type batchesKey struct{}

// batchCounts are a runner's counts of the batches sent, by algorithm.
type batchCounts struct {
	mu sync.Mutex
	m  map[string]conveyor.BatchCount
}

func (b *batchCounts) add(alg string, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]conveyor.BatchCount{}
	}
	c := b.m[alg]
	c.Batches++
	c.Jobs += int64(n)
	c.Last = n
	b.m[alg] = c
}

func (b *batchCounts) snapshot() map[string]conveyor.BatchCount {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.m) == 0 {
		return nil
	}
	return maps.Clone(b.m)
}

// BatchSizes returns what a kind calls with the size of each batch of
// algorithm alg it sends, from the context given to Kind.Provision: it
// feeds the metrics' histogram and the runner's registry record (GET
// /v1/runners, the dashboard).
func BatchSizes(ctx context.Context, alg string) func(n int) {
	var observe prometheus.Observer
	if m := MetricsOf(ctx); m != nil {
		observe = m.BatchSize.WithLabelValues(alg)
	}
	counts, _ := ctx.Value(batchesKey{}).(*batchCounts)
	return func(n int) {
		if observe != nil {
			observe.Observe(float64(n))
		}
		if counts != nil {
			counts.add(alg, n)
		}
	}
}

// Logger returns the runner's logger from the context given to
// Kind.Provision, for what a kind logs outside any job (a worker process's
// output between jobs, its restarts); slog.Default() when there is none.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

var (
	kindsMu sync.RWMutex
	kinds   = map[string]Kind{}
)

// Checker is implemented by kinds that check their own keys of an entry
// when the config is loaded (config.Validate), in every process that
// loads it — a gateway too, which provisions nothing — rather than only
// when a runner provisions the entry. Check decodes the entry's options
// (config.Algorithm.DecodeOptions) and returns every problem it finds,
// joined (errors.Join), each naming its key; the config adds the entry.
// It must not look outside the entry: whether a command exists or a user
// is known is the runner's to say, at Provision.
type Checker interface {
	Check(entry config.Algorithm) error
}

// RegisterKind makes a kind available under name, the value of an entry's
// `kind:` key, taking keys of an entry beyond config.CommonKeys: the kind
// owns those, and the config refuses any other key in an entry of it (and
// has a Checker check the ones it takes). It panics if name is taken;
// kinds register in their package's init, and internal/app imports the
// kind packages it ships.
func RegisterKind(name string, k Kind, keys ...string) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	if _, dup := kinds[name]; dup {
		panic("runner: kind " + name + " registered twice")
	}
	kinds[name] = k
	var check func(config.Algorithm) error
	if c, ok := k.(Checker); ok {
		check = c.Check
	}
	config.RegisterKind(name, check, keys...)
}

// LookupKind returns the kind registered under name.
func LookupKind(name string) (Kind, error) {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	k, ok := kinds[name]
	if !ok {
		names := make([]string, 0, len(kinds))
		for n := range kinds {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("unknown kind %q (known: %v)", name, names)
	}
	return k, nil
}
