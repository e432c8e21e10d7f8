//go:build unix

package workerkind

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/spawn"
)

// Options are the keys of a worker entry beyond the common ones: how to
// start its processes (those of every kind that runs programs), and how
// many jobs each holds, how long an idle one stays, settings per
// algorithm, and what each needs of the runner. The entry keeps them
// (config.Algorithm.Options); the kind decodes them.
type Options struct {
	// Process are the command, dir, env, user and rlimits of the
	// processes.
	Process spawn.Options `yaml:",inline"`
	// Concurrency is how many jobs one worker process holds at once: a
	// Python worker runs synchronous handlers in a thread pool of this
	// size and async ones on one event loop. Absent means 1; it must be at
	// least 1. The entry runs up to workers.max × concurrency jobs at once.
	Concurrency *int `yaml:"concurrency,omitempty"`
	// Prefetch is how many jobs one worker process holds beyond its
	// concurrency: sent to it ahead, while its slots are busy, and started
	// as they free, so that a process never waits for the runner between
	// short jobs. A job in hand waits for the jobs ahead of it even when
	// another process is free, so 0 (none) suits long jobs best. Absent
	// means adaptive: one job in hand per slot, and up to deepPrefetch
	// per slot while the jobs take under shortJob on average.
	Prefetch *int `yaml:"prefetch,omitempty"`
	// IdleTimeout retires a worker process that has had no job for this
	// long, down to workers.min. Default 5m (DefaultIdleTimeout).
	IdleTimeout conveyor.Duration `yaml:"idle_timeout,omitempty"`
	// Algorithms holds settings for each algorithm the entry's workers
	// announce, by name; they override the entry's own.
	Algorithms map[string]AlgorithmSettings `yaml:"algorithms,omitempty"`
	// Resources are what each process needs of the runner's (the
	// config's resources): {gpu: 1} gives each process one GPU of its
	// own, and the pool runs no more processes than there are GPUs for.
	Resources map[string]int `yaml:"resources,omitempty"`
}

// keys are the yaml keys of Options, for RegisterKind.
var keys = append(slices.Clone(spawn.Keys), "concurrency", "prefetch", "idle_timeout", "algorithms", "resources")

// AlgorithmSettings are the settings of one algorithm of an entry that
// serves several (an entry without a name). Zero values keep the entry's
// settings.
type AlgorithmSettings struct {
	Timeout     conveyor.Duration `yaml:"timeout,omitempty"`
	MaxAttempts int               `yaml:"max_attempts,omitempty"`
	Description string            `yaml:"description,omitempty"`
	// Batch overrides what the worker announces for an algorithm that runs
	// in batches (the Python SDK's @conveyor.batch): tune the batches
	// where the model runs, without a change to its code.
	Batch *BatchSettings `yaml:"batch,omitempty"`
}

// BatchSettings are the batch size and wait of an algorithm that runs in
// batches. Zero values (absent keys) keep what the worker announces.
type BatchSettings struct {
	// MaxSize is how many jobs one batch holds at most, 1 to
	// MaxBatchSize.
	MaxSize int `yaml:"max_size,omitempty"`
	// MaxWait is how long the runner waits, after the first job of a
	// batch, for more; "0s" sends each batch at once.
	MaxWait *conveyor.Duration `yaml:"max_wait,omitempty"`
}

// jobsEach returns the concurrency: how many jobs one process holds at
// once; 1 when unset.
func (o *Options) jobsEach() int {
	if o.Concurrency == nil {
		return 1
	}
	return *o.Concurrency
}

// jobsAhead returns the prefetch: how many jobs one process holds beyond
// those it runs, at most; deepPrefetch per slot when unset (adaptive).
func (o *Options) jobsAhead() int {
	if o.Prefetch == nil {
		return deepPrefetch * o.jobsEach()
	}
	return *o.Prefetch
}

// Adaptive prefetch (an entry without prefetch:): a process holds one job
// in hand per slot, and up to deepPrefetch while the jobs it runs take
// under shortJob on average — then the runner's round trip for the next
// job, not the job, would bound the process, and a job held behind a few
// short ones waits little. deepPrefetch is Celery's default prefetch
// multiplier; shallowJob, above shortJob, keeps the depth from flapping.
const (
	deepPrefetch = 4
	shortJob     = 10 * time.Millisecond
	shallowJob   = 20 * time.Millisecond
)

// check returns every problem of o that the config alone says, joined.
func (o *Options) check() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if err := o.Process.Check(); err != nil {
		errs = append(errs, err)
	}
	if o.Concurrency != nil && *o.Concurrency < 1 {
		add("concurrency must be at least 1, not %d", *o.Concurrency)
	}
	if o.Prefetch != nil && *o.Prefetch < 0 {
		add("prefetch must not be negative, not %d", *o.Prefetch)
	}
	for _, name := range slices.Sorted(maps.Keys(o.Algorithms)) {
		set := o.Algorithms[name]
		if err := conveyor.ValidateName(name); err != nil {
			add("algorithms: %v", err)
		}
		if set.MaxAttempts < 0 {
			add("algorithms.%s.max_attempts must not be negative", name)
		}
		if b := set.Batch; b != nil {
			if b.MaxSize < 0 || b.MaxSize > MaxBatchSize {
				add("algorithms.%s.batch.max_size must be between 1 and %d, not %d", name, MaxBatchSize, b.MaxSize)
			}
			if b.MaxWait != nil && *b.MaxWait < 0 {
				add("algorithms.%s.batch.max_wait must not be negative", name)
			}
		}
	}
	if err := config.CheckResources("resources", o.Resources); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Check checks a worker entry's own keys as the config is loaded
// (runner.Checker): that they decode, and what check says of them.
func (Kind) Check(entry config.Algorithm) error {
	var opt Options
	if err := entry.DecodeOptions(&opt); err != nil {
		return err
	}
	return opt.check()
}

// Entry returns a worker entry: common's keys (its Kind set to worker)
// and opts, as the YAML entry {kind: worker, command: […], …} would be.
// It is how Go code — tests, a program that embeds a runner — writes one.
func Entry(common config.Algorithm, opts Options) config.Algorithm {
	common.Kind = KindName
	if err := common.SetOptions(opts); err != nil {
		panic(err) // Options always encodes to a mapping
	}
	return common
}
