package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/metrics"
	"github.com/conveyor-run/conveyor/services"
)

// Config configures a Runner. The zero value of each field but Broker and
// Algorithms has a working default.
type Config struct {
	Broker *broker.Broker
	// Algorithms are the entries of the config's algorithms list this
	// runner serves.
	Algorithms []config.Algorithm
	// ID names the runner in job records and the registry; default
	// host-pid-random.
	ID string
	// Heartbeat is how often the runner renews the leases of running jobs
	// and its registry record. Default: the broker's heartbeat.
	Heartbeat time.Duration
	// ShutdownGrace bounds how long Stop lets running jobs finish before
	// handing them back to the queue. Default 30s.
	ShutdownGrace time.Duration
	// MaxLogBytes caps the log text kept per job; past it the oldest lines
	// are dropped. Default broker.DefaultMaxLogBytes (1 MiB).
	MaxLogBytes int
	Logger      *slog.Logger
	// Metrics receives the runner's metrics. Default: a registry of the
	// runner's own.
	Metrics *metrics.Metrics
	// GPUs is how many GPUs the runner hands to the processes whose
	// entries need some (resources: {gpu: k}); < 0: as many as
	// nvidia-smi lists (see DetectGPUs).
	GPUs int
	// Mutexes passes on the mutex keys of the jobs the runner ends, so
	// that keys move on while no gateway runs. Default: a service of the
	// runner's own, run while it is.
	Mutexes *services.Mutexes
	// Callbacks, when set, delivers the completion callbacks of the jobs
	// the runner ends, so that they go out while no gateway runs.
	Callbacks *services.Callbacks
	// Labels describe the runner (config labels); its registry record
	// shows them.
	Labels map[string]string
}

// Runner pulls jobs of its algorithms and runs them. Start it once; Stop it
// once it is no longer needed.
type Runner struct {
	cfg Config
	b   brokerAPI
	log *slog.Logger
	// startFailures throttles the log of jobs that could not start.
	startFailures throttle
	// mutexes passes the keys of the jobs it ends on (Config.Mutexes, or
	// the runner's own).
	mutexes    *services.Mutexes
	ownMutexes bool
	// spareDirs are empty directories of artifacts kept for attempts.
	spareDirs spareDirs
	// gpus are the runner's GPUs, shared by its worker pools.
	gpus   *Devices
	served []*pool
	// shared are, by config entry index, the job slots (processes ×
	// jobs each) of the entries whose algorithms share their workers
	// (see SharedWorkers).
	shared map[int]int
	// processes is the processes of those entries summed: how many
	// worker processes the runner may start.
	processes int
	// pipelines are the pipeline entries of the runner's config: it
	// registers them; their stages run wherever their algorithms are served.
	pipelines []conveyor.Algorithm

	started   time.Time
	ctx       context.Context // canceled by Stop after the grace period
	cancel    context.CancelFunc
	fetchStop context.CancelFunc // stops taking new jobs
	wg        sync.WaitGroup     // fetch loops and attempts
	keep      *keeper            // the attempts' goroutines
	bg        sync.WaitGroup     // heartbeat
	cancelSub broker.Subscription
	subs      []broker.Subscription // calls and doorbells: drained first on Stop
	gauges    []prometheus.Collector
	batches   batchCounts // sent to worker processes, by algorithm

	mu       sync.Mutex
	inflight map[string]*attempt // by job id
	// canceled and canceledOld are the jobs canceled lately that were not
	// in flight here (see noteCanceled).
	canceled, canceledOld map[string]struct{}
	canceledSince         time.Time
	stopOnce              sync.Once
}

// New provisions every configured algorithm through its kind and returns a
// runner ready to Start. It returns an error naming the entry when an entry
// is invalid or its kind fails to provision it.
func New(ctx context.Context, cfg Config) (*Runner, error) {
	if cfg.Broker == nil {
		return nil, errors.New("runner: no broker")
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = cfg.Broker.Config().Heartbeat
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = config.DefaultShutdown
	}
	if cfg.ID == "" {
		cfg.ID = newRunnerID()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	if cfg.GPUs < 0 {
		cfg.GPUs = DetectGPUs()
	}
	r := &Runner{cfg: cfg, b: cfg.Broker, log: cfg.Logger.With("runner", cfg.ID), inflight: map[string]*attempt{}, canceled: map[string]struct{}{}, shared: map[int]int{}, startFailures: throttle{every: 10 * time.Second}}
	if r.mutexes = cfg.Mutexes; r.mutexes == nil {
		r.mutexes = services.NewMutexes(services.MutexesConfig{Broker: cfg.Broker, Logger: cfg.Logger})
		r.ownMutexes = true
	}
	r.gpus = NewDevices(cfg.GPUs)
	names := map[string]bool{}
	for i, entry := range cfg.Algorithms {
		entry.WithDefaults()
		if entry.IsPipeline() {
			if names[entry.Name] {
				r.closeHandlers()
				return nil, fmt.Errorf("algorithm %s is configured twice", entry.Name)
			}
			names[entry.Name] = true
			r.pipelines = append(r.pipelines, conveyor.Algorithm{
				Name:        entry.Name,
				Description: entry.Description,
				Kind:        conveyor.KindPipeline,
				MaxAttempts: entry.MaxAttempts,
				MaxQueued:   entry.MaxQueued,
				Pipeline:    &conveyor.Pipeline{Stages: entry.Pipeline, MaxSteps: entry.MaxSteps},
			})
			continue
		}
		k, err := LookupKind(entry.Kind)
		if err != nil {
			r.closeHandlers()
			return nil, fmt.Errorf("algorithms[%d]: %w", i, err)
		}
		pctx := context.WithValue(context.WithValue(ctx, loggerKey{}, r.log), metricsKey{}, cfg.Metrics)
		pctx = context.WithValue(pctx, batchesKey{}, &r.batches)
		served, err := k.Provision(context.WithValue(pctx, devicesKey{}, r.gpus), entry)
		if err != nil {
			r.closeHandlers()
			return nil, fmt.Errorf("algorithms[%d] (%s %s): %w", i, entry.Kind, entry.Name, err)
		}
		each, shared := entry.Workers.Max, false // each algorithm's slots
		if len(served) > 0 {
			if sw, ok := served[0].Handler.(SharedWorkers); ok {
				// The kind sizes its workers: no more processes than the
				// runner has GPUs for, nor slots.
				processes, jobs := sw.Workers()
				each, shared = processes*max(jobs, 1), true
				r.processes += processes
			}
		}
		slots := each
		for _, s := range served {
			if names[s.Algorithm.Name] {
				r.closeHandlers()
				closeServed(served) // this entry's, not in r.served yet
				return nil, fmt.Errorf("algorithm %s is configured twice", s.Algorithm.Name)
			}
			names[s.Algorithm.Name] = true
			if s.Algorithm.MaxAttempts == 0 {
				s.Algorithm.MaxAttempts = entry.MaxAttempts
			}
			if s.Algorithm.MaxQueued == 0 {
				s.Algorithm.MaxQueued = entry.MaxQueued
			}
			p := newPool(r, s, entry, each)
			p.entry = i
			r.served = append(r.served, p)
			slots = max(slots, p.size)
		}
		if shared {
			// A batch algorithm's slots hold its batches' jobs.
			r.shared[i] = slots
		}
	}
	return r, nil
}

// ID returns the runner's id.
func (r *Runner) ID() string { return r.cfg.ID }

// Algorithms returns the algorithms the runner serves, and the pipelines
// it registers.
func (r *Runner) Algorithms() []conveyor.Algorithm {
	out := make([]conveyor.Algorithm, 0, len(r.served)+len(r.pipelines))
	for _, p := range r.served {
		out = append(out, p.alg)
	}
	return append(out, r.pipelines...)
}

// Start registers the runner's algorithms and itself, then starts pulling
// jobs. It returns once the runner is registered and pulling, or an error
// when the broker does not answer. The runner runs until Stop.
func (r *Runner) Start(ctx context.Context) error {
	r.started = time.Now()
	if dirs := sweepFiles("", r.started); len(dirs) > 0 {
		r.log.Info("removed the input files of attempts a dead runner left", "dirs", dirs)
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	if r.ownMutexes {
		r.mutexes.Start(r.ctx)
	}
	fetchCtx, fetchStop := context.WithCancel(r.ctx)
	r.fetchStop = fetchStop
	r.keep = newKeeper(&r.wg, fetchCtx.Done())
	for _, a := range r.pipelines {
		if err := r.b.RegisterAlgorithm(ctx, a, r.cfg.ID); err != nil {
			return err
		}
	}
	for _, p := range r.served {
		p.fetchCtx = fetchCtx
		if err := r.announce(ctx, p); err != nil {
			return err
		}
		for rank, prio := range broker.Priorities {
			if err := r.b.OpenQueue(ctx, p.alg.Name, prio); err != nil {
				return err
			}
			pl := r.b.Puller(p.alg.Name, prio)
			p.plain[rank].pl = pl
			context.AfterFunc(fetchCtx, pl.Close) // pulls in flight end with the fetching
		}
		bells, err := p.subscribeBells()
		if err != nil {
			return fmt.Errorf("subscribe to the queues of %s: %w", p.alg.Name, err)
		}
		r.subs = append(r.subs, bells...)
	}
	sub, err := r.b.Cancels(r.onCancel)
	if err != nil {
		return fmt.Errorf("subscribe to cancels: %w", err)
	}
	r.cancelSub = sub
	for _, p := range r.served {
		sub, err := p.subscribeCalls()
		if err != nil {
			return fmt.Errorf("subscribe to calls of %s: %w", p.alg.Name, err)
		}
		r.subs = append(r.subs, sub)
	}
	if err := r.register(ctx); err != nil {
		return err
	}
	r.registerGauges()
	r.bg.Add(1)
	go r.heartbeat()
	for _, p := range r.served {
		r.wg.Add(2)
		go p.fetchLoop(fetchCtx)
		go p.bellLoop(fetchCtx)
	}
	if len(r.cfg.Labels) > 0 {
		r.wg.Add(1)
		go r.routeLoop(fetchCtx)
	}
	r.log.Info("runner started", "algorithms", len(r.served))
	return nil
}

// Stop stops taking jobs, lets running attempts finish for up to the
// shutdown grace, then stops the rest, which go back to the queue and run
// again (on another runner, or after a restart) as their next attempt. It
// deregisters the runner and closes the kinds' handlers. Safe to call more
// than once; the first call does the work.
func (r *Runner) Stop() {
	r.stopOnce.Do(func() {
		if r.cancel == nil { // never started
			r.closeHandlers()
			return
		}
		// No new calls or doorbells first, then no new jobs: the call
		// workers answer every call that came before the drain, then stop.
		for _, sub := range r.subs {
			_ = sub.Drain()
		}
		r.fetchStop()
		done := make(chan struct{})
		go func() { r.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(r.cfg.ShutdownGrace):
			r.log.Warn("shutdown grace over: handing running jobs back to the queue")
			r.mu.Lock()
			for _, a := range r.inflight {
				a.stop(errShutdown)
			}
			r.mu.Unlock()
			<-done
		}
		r.cancel()
		r.bg.Wait()
		if r.ownMutexes {
			r.mutexes.Stop()
		}
		if r.cancelSub != nil {
			_ = r.cancelSub.Unsubscribe()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = r.b.DeleteRunner(ctx, r.cfg.ID)
		cancel()
		r.closeHandlers()
		for _, c := range r.gauges {
			r.cfg.Metrics.Unregister(c)
		}
		r.log.Info("runner stopped")
	})
}

// closeServed closes the handlers of served that are io.Closers. (Closing
// twice is harmless: kinds close their pools once.)
func closeServed(served []Served) {
	for _, s := range served {
		if c, ok := s.Handler.(io.Closer); ok {
			_ = c.Close()
		}
	}
}

func (r *Runner) closeHandlers() {
	defer r.spareDirs.close()
	for _, p := range r.served {
		if c, ok := p.handler.(io.Closer); ok {
			if err := c.Close(); err != nil {
				r.log.Warn("close handler", "algorithm", p.alg.Name, "err", err)
			}
		}
	}
}

// Info returns the runner's registry record as of now. Its Capacity is how
// many jobs the runner can run at once: each algorithm's slots
// (workers.max, times concurrency for worker entries), except that an
// entry whose algorithms share their workers counts its slots once.
// Processes is how many worker processes hold them. Busy counts the jobs
// running; Prefetched those taken beyond the slots, which Capacity does
// not count: held by a worker process ahead of need (prefetch), or
// waiting for a process of an entry whose algorithms share them.
func (r *Runner) Info() conveyor.RunnerInfo {
	host, _ := os.Hostname()
	info := conveyor.RunnerInfo{ID: r.cfg.ID, Host: host, PID: os.Getpid(), Version: conveyor.Version, StartedAt: r.started, LastSeen: time.Now().UTC(), Processes: r.processes}
	if n := r.gpus.Count(); n > 0 {
		info.Resources = map[string]int{"gpu": n}
	}
	info.Labels = r.cfg.Labels
	info.Devices = r.gpus.Load()
	info.Batches = r.batches.snapshot()
	info.Workers = make(map[string]int, len(r.served))
	info.Schemas = make(map[string]string, len(r.served))
	sharedBusy := map[int]int{}
	for _, p := range r.served {
		info.Schemas[p.alg.Name] = p.schema
		info.Algorithms = append(info.Algorithms, p.alg.Name)
		info.Workers[p.alg.Name] = p.size
		if _, ok := r.shared[p.entry]; ok {
			sharedBusy[p.entry] += p.holding()
			continue
		}
		info.Capacity += p.size
		held := p.holding()
		info.Busy += min(held, p.size)
		info.Prefetched += max(held-p.size, 0)
	}
	// An entry whose algorithms share their workers runs at most its
	// workers.max jobs at once; jobs past that wait for a worker, or are
	// held by one (prefetched).
	for entry, max := range r.shared {
		info.Capacity += max
		info.Busy += min(sharedBusy[entry], max)
		info.Prefetched += sharedBusy[entry] - min(sharedBusy[entry], max)
	}
	return info
}

// registerGauges reports each pool's slots, read when scraped.
func (r *Runner) registerGauges() {
	for _, p := range r.served {
		labels := prometheus.Labels{"algorithm": p.alg.Name, "runner": r.cfg.ID}
		busy := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "conveyor_workers_busy", Help: "Worker slots in use.", ConstLabels: labels,
		}, func() float64 { return float64(p.busy()) })
		total := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "conveyor_workers", Help: "Worker slots in all.", ConstLabels: labels,
		}, func() float64 { return float64(p.size) })
		for _, c := range []prometheus.Collector{busy, total} {
			if err := r.cfg.Metrics.Register(c); err == nil {
				r.gauges = append(r.gauges, c)
			}
		}
	}
	for i := range r.gpus.Count() {
		c := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "conveyor_gpu_jobs", Help: "Jobs running on the worker process that holds the GPU.",
			ConstLabels: prometheus.Labels{"runner": r.cfg.ID, "gpu": strconv.Itoa(i)},
		}, func() float64 { return float64(r.gpus.Load()[i].Jobs) })
		if err := r.cfg.Metrics.Register(c); err == nil {
			r.gauges = append(r.gauges, c)
		}
	}
}

func (r *Runner) register(ctx context.Context) error {
	return r.b.PutRunner(ctx, r.Info())
}

// announce registers p's algorithm. When a live runner holds the
// registration with another input schema, it warns, and the runner serves
// the algorithm anyway (gateways report the conflict); each heartbeat
// announces it again, so it takes over once the other runners are gone,
// as in a rolling upgrade.
func (r *Runner) announce(ctx context.Context, p *pool) error {
	err := r.b.RegisterAlgorithm(ctx, p.alg, r.cfg.ID)
	var conflict *broker.SchemaConflictError
	if errors.As(err, &conflict) {
		if !p.conflict.Swap(true) {
			r.log.Warn("input schema conflict: serving the algorithm, but gateways validate jobs against the registered schema",
				"algorithm", p.alg.Name, "registered_sha256", conflict.Registered, "input_schema_sha256", p.schema, "registered_by", conflict.Runner)
		}
		return nil
	}
	if err == nil && p.conflict.Swap(false) {
		r.log.Info("input schema conflict resolved: this runner's schema is now registered", "algorithm", p.alg.Name)
	}
	return err
}

func newRunnerID() string {
	host, _ := os.Hostname()
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
