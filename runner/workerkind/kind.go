//go:build unix

package workerkind

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/spawn"
	"github.com/conveyor-run/conveyor/runner"
	"github.com/conveyor-run/conveyor/schema"
	pysdk "github.com/conveyor-run/conveyor/sdk/python"
	"github.com/conveyor-run/conveyor/workerproto"
)

// KindName is the value of a config entry's `kind:` key that selects
// worker processes.
const KindName = "worker"

func init() {
	runner.RegisterKind(KindName, Kind{}, keys...)
}

// Defaults of a worker entry.
const (
	// DefaultIdleTimeout is how long a process beyond workers.min may stay
	// idle before it is retired.
	DefaultIdleTimeout = 5 * time.Minute
	// DefaultStartTimeout bounds a process's start-up: from its start to
	// its hello (loading a model included).
	DefaultStartTimeout = 2 * time.Minute
)

// Kind is the worker runner kind. The zero value is ready to use;
// importing the package registers it under "worker".
type Kind struct {
	// StartTimeout bounds a process's start-up; zero means
	// DefaultStartTimeout.
	StartTimeout time.Duration
}

// Variables the runner sets for a worker; the entry's env may not set
// them. envProtocol is the protocol version; envConcurrency how many jobs
// the worker is to hold at once (the entry's concurrency), which the
// worker confirms in its hello.
const (
	envProtocol    = "CONVEYOR_PROTOCOL"
	envConcurrency = "CONVEYOR_CONCURRENCY"
	// envPrefetch is how many jobs beyond its concurrency the worker is
	// to hold (the entry's prefetch), which it confirms in its hello.
	envPrefetch = "CONVEYOR_PREFETCH"
	// envCUDA and envGPU name the GPUs a process holds (resources: {gpu:
	// k}), as a comma list of indexes: CUDA's own variable, which CUDA
	// libraries obey, and conveyor's, for the others.
	envCUDA = "CUDA_VISIBLE_DEVICES"
	envGPU  = "CONVEYOR_GPU"
)

// Provision starts the entry's first worker process, learns its
// algorithms from its hello and returns them, each with a handler that
// runs its jobs on the entry's pool of processes. The pool then keeps
// workers.min processes (starting them in the background) and grows to
// workers.max when jobs wait.
//
// An entry without a name serves every algorithm the worker announces;
// with a name, only that one. Timeout, max_attempts and description come
// from the entry, overridden per algorithm by its `algorithms:` settings;
// the schemas always come from the hello.
//
// Provision returns an error naming the problem when the entry is invalid
// for the kind (no command, a missing executable or dir, a reserved env
// variable, schemas or a description that the worker announces itself,
// settings for an algorithm it does not announce, batch settings for one
// it does not run in batches) or when the first
// process fails its start: the error then holds the tail of its stderr.
func (k Kind) Provision(ctx context.Context, entry config.Algorithm) ([]runner.Served, error) {
	var opt Options
	if err := entry.DecodeOptions(&opt); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	sp, err := newSpec(entry, &opt)
	if err != nil {
		return nil, err
	}
	log := runner.Logger(ctx).With("worker", opt.Process.Command[0])
	if _, err := pysdk.Dir(); err != nil {
		log.Warn("the bundled Python SDK is not on PYTHONPATH", "err", err)
	}
	gpus, perProc := runner.DevicesOf(ctx), opt.Resources["gpu"]
	maxProcs := max(entry.Workers.Max, 1)
	if perProc > 0 {
		if have := gpus.Count(); have < perProc {
			return nil, fmt.Errorf("worker: each process needs %d GPU(s) (resources: {gpu: %d}); this runner has %d (resources: {gpu: N} in the config, or as many as nvidia-smi -L lists)", perProc, perProc, have)
		}
		if fit := gpus.Count() / perProc; fit < maxProcs {
			log.Info("fewer processes than workers.max: the runner's GPUs fit no more", "workers_max", maxProcs, "processes", fit, "gpus", gpus.Count(), "gpu_per_process", perProc)
			maxProcs = fit
		}
	}
	pl := newPool(&pool{
		name:         strings.Join(opt.Process.Command, " "),
		spec:         sp,
		min:          entry.Workers.Min,
		max:          maxProcs,
		gpus:         gpus,
		perProc:      perProc,
		conc:         max(opt.jobsEach(), 1),
		ask:          max(opt.jobsAhead(), 0),
		adaptive:     opt.Prefetch == nil,
		idleTimeout:  cmp.Or(opt.IdleTimeout.Std(), DefaultIdleTimeout),
		startTimeout: cmp.Or(k.StartTimeout, DefaultStartTimeout),
		grace:        cmp.Or(entry.Grace.Std(), config.DefaultGrace),
		log:          log,
	})
	first, hello, err := pl.spawn(ctx)
	if err != nil {
		pl.close()
		return nil, err
	}
	pl.ahead = first.ahead
	if pl.depth.Store(int32(pl.ahead)); pl.adaptive {
		pl.depth.Store(int32(min(pl.conc, pl.ahead))) // until jobs show they are short
	}
	if pl.ask > pl.ahead {
		log.Info("the worker holds fewer jobs ahead than the entry's prefetch (its hello says \"prefetch\": N; a worker reads CONVEYOR_PREFETCH and confirms it — the Python SDK does)", "prefetch", pl.ask, "accepted", pl.ahead)
	}
	observe := func(alg string) func(int) { return runner.BatchSizes(ctx, alg) }
	served, err := served(entry, opt.Algorithms, hello, pl, observe)
	if err != nil {
		first.kill()
		<-first.exited
		pl.close()
		return nil, err
	}
	for _, s := range served {
		pl.served = append(pl.served, s.Algorithm.Name)
		if b, ok := s.Handler.(*batchHandler); ok {
			b.start()
		}
	}
	pl.adopt(first)
	pl.mu.Lock()
	pl.scale() // up to min, in the background
	pl.mu.Unlock()
	pl.wg.Go(pl.janitor)
	return served, nil
}

// newSpec checks the entry and its options and returns how to start its
// processes.
func newSpec(entry config.Algorithm, opt *Options) (spec, error) {
	fail := func(format string, args ...any) (spec, error) {
		return spec{}, fmt.Errorf("worker: %s", fmt.Sprintf(format, args...))
	}
	if len(opt.Process.Command) == 0 || opt.Process.Command[0] == "" {
		return fail("command is required, e.g. [python3, -m, conveyor.worker, mymodule]")
	}
	if entry.InputSchema != nil || entry.OutputSchema != nil {
		return fail("input_schema and output_schema are not used: a worker announces its algorithms' schemas in its hello")
	}
	if entry.Name == "" && entry.Description != "" {
		return fail("description needs a name: an entry without one serves every algorithm its worker announces (use algorithms: {NAME: {description: …}})")
	}
	if entry.Name != "" {
		if err := conveyor.ValidateName(entry.Name); err != nil {
			return fail("%v", err)
		}
	}
	for _, v := range []string{envProtocol, envConcurrency, envPrefetch, envGPU} {
		if _, ok := opt.Process.Env[v]; ok {
			return fail("env %s: reserved: conveyor sets it", v)
		}
	}
	if err := opt.check(); err != nil {
		return fail("%v", err)
	}
	cmd, err := spawn.CommandOf(opt.Process)
	if err != nil {
		return fail("%v", err)
	}
	sdk, sdkErr := pysdk.Dir()
	if opt.Process.User != "" {
		// Its processes run as another user, who cannot reach a cache
		// under the runner's home.
		sdk, sdkErr = pysdk.SharedDir()
	}
	return spec{cmd: cmd, env: environ(cmd.Env, opt.jobsEach(), opt.jobsAhead(), sdk, sdkErr)}, nil
}

// served returns the algorithms of the hello that the entry serves, with
// the entry's settings for each (settings). observe, when not nil, returns for an algorithm the function that
// records the size of each batch sent.
func served(entry config.Algorithm, settings map[string]AlgorithmSettings, h *workerproto.Hello, pl *pool, observe func(alg string) func(int)) ([]runner.Served, error) {
	var names []string
	for _, a := range h.Algorithms {
		names = append(names, a.Name)
	}
	announced := strings.Join(names, ", ")
	if entry.Name != "" && !slices.Contains(names, entry.Name) {
		return nil, fmt.Errorf("worker %s announces no algorithm %s (it announces %s)", pl.name, entry.Name, announced)
	}
	for name := range settings {
		if !slices.Contains(names, name) || (entry.Name != "" && name != entry.Name) {
			return nil, fmt.Errorf("worker %s: algorithms.%s: no such algorithm is served by this entry (its worker announces %s)", pl.name, name, announced)
		}
	}
	var out []runner.Served
	for _, a := range h.Algorithms {
		if entry.Name != "" && a.Name != entry.Name {
			continue
		}
		set := settings[a.Name]
		alg := conveyor.Algorithm{
			Name:         a.Name,
			Description:  cmp.Or(set.Description, entry.Description, a.Description),
			Kind:         KindName,
			InputSchema:  a.InputSchema,
			OutputSchema: a.OutputSchema,
			Timeout:      cmp.Or(set.Timeout, entry.Timeout),
			MaxAttempts:  cmp.Or(set.MaxAttempts, entry.MaxAttempts),
		}
		if len(alg.InputSchema) == 0 {
			alg.InputSchema = conveyor.AnyObjectSchema
		}
		for what, s := range map[string][]byte{"input_schema": alg.InputSchema, "output_schema": alg.OutputSchema} {
			if len(s) == 0 {
				continue
			}
			if _, err := schema.Compile(s); err != nil {
				return nil, fmt.Errorf("worker %s announces %s with an invalid %s: %w", pl.name, a.Name, what, err)
			}
		}
		if a.Batch == nil {
			if set.Batch != nil {
				return nil, fmt.Errorf("worker %s: algorithms.%s.batch: %s does not run in batches (its worker announces it without a batch spec; in Python, mark it @conveyor.batch)", pl.name, a.Name, a.Name)
			}
			out = append(out, runner.Served{Algorithm: alg, Handler: &handler{name: a.Name, pool: pl}})
			continue
		}
		if a.Batch.MaxSize > MaxBatchSize {
			return nil, fmt.Errorf("worker %s announces %s with a batch max_size of %d, over the limit of %d", pl.name, a.Name, a.Batch.MaxSize, MaxBatchSize)
		}
		spec := *a.Batch
		if b := set.Batch; b != nil {
			spec.MaxSize = cmp.Or(b.MaxSize, spec.MaxSize)
			if b.MaxWait != nil {
				spec.MaxWait = b.MaxWait.Std().Seconds()
			}
		}
		h := newBatchHandler(a.Name, pl, &spec, nil)
		alg.Batch = &conveyor.Batching{MaxSize: h.maxSize, MaxWait: conveyor.Duration(h.maxWait)}
		if observe != nil {
			h.observe = observe(a.Name)
		}
		out = append(out, runner.Served{Algorithm: alg, Handler: h})
	}
	return out, nil
}

// environ returns the environment of the entry's processes, sorted: base
// (the inherited variables and the entry's env), CONVEYOR_PROTOCOL,
// CONVEYOR_CONCURRENCY when conc > 1, CONVEYOR_PREFETCH when ahead > 0,
// and PYTHONPATH with the bundled SDK after the entry's own PYTHONPATH
// (if any). It leaves base as it is.
func environ(base map[string]string, conc, ahead int, sdk string, sdkErr error) []string {
	env := maps.Clone(base)
	env[envProtocol] = fmt.Sprint(workerproto.Version)
	if conc > 1 {
		env[envConcurrency] = fmt.Sprint(conc)
	}
	if ahead > 0 {
		env[envPrefetch] = fmt.Sprint(ahead)
	}
	if sdkErr == nil {
		env["PYTHONPATH"] = strings.TrimPrefix(env["PYTHONPATH"]+string(filepath.ListSeparator)+sdk, string(filepath.ListSeparator))
	}
	return spawn.EnvList(env)
}

// Interface guards.
var (
	_ runner.Kind          = Kind{}
	_ runner.Checker       = Kind{}
	_ runner.Handler       = (*handler)(nil)
	_ runner.Prefetcher    = (*handler)(nil)
	_ runner.SharedWorkers = (*handler)(nil)
	_ runner.SharedWorkers = (*batchHandler)(nil)
	_ io.Closer            = (*handler)(nil)
)
