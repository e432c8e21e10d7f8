// Package workerkind implements the worker runner kind: a pool of
// long-lived processes, in any language, that load what they need once
// (a model) and then run jobs one at a time, speaking the worker protocol
// of package workerproto over file descriptors 3 and 4.
//
// A config entry such as
//
//	algorithms:
//	  - kind: worker
//	    command: [python3, -m, conveyor.worker, mymodule]
//	    workers: {min: 1, max: 4}
//	    idle_timeout: 5m
//	    algorithms: {classify: {timeout: 60s, max_attempts: 3}}
//
// starts its command (an argv, never a shell) in its own process group
// (on Linux under a supervisor that keeps every process it starts in
// reach, see spawn.Start), in the entry's dir, with a scrubbed environment: PATH, HOME, LANG and
// TMPDIR from the runner, the entry's env, CONVEYOR_PROTOCOL=1, and
// PYTHONPATH ending with the Python SDK bundled in the binary (see package
// pysdk), after the entry's own PYTHONPATH. The worker's hello announces
// its algorithms with their schemas; they become the algorithms the entry
// serves: all of them for an entry without a name, the named one
// otherwise. Settings under `algorithms:` override the entry's timeout,
// max_attempts and description per algorithm, and for a batch algorithm
// what its worker announces as batch: {max_size, max_wait}.
//
// # Pool
//
// Provision starts the first process and waits for its hello, so a worker
// that cannot start fails `conveyor serve` with its stderr. The pool then
// keeps workers.min processes (at least the first until it idles out),
// starts another when a job waits and fewer than workers.max exist, and
// retires processes idle for idle_timeout (default 5m) down to min. The
// processes of an entry are shared by all the algorithms it serves: a job
// of one algorithm may wait for a process busy with another. A start
// (model loading) happens outside any job; a job waits for one only when
// every process is busy and the pool is growing, and that wait counts
// towards its timeout.
//
// A process also holds its entry's prefetch of jobs (default: adaptive,
// one per slot and up to deepPrefetch per slot while the jobs are short;
// see Options.Prefetch) beyond those it runs: sent ahead while its slots are busy,
// it starts them in order, each once a running one is answered, so short
// jobs do not wait for the runner between them. The runner learns that a
// held job started from the answer that freed its slot (see item); the
// job's timeout counts from then. A held job is canceled at once and
// never runs; one whose process dies goes to another process in the same
// attempt. A busy process is handed a job to hold only when the pool
// cannot start another process, and never a batch.
//
// Stdout and stderr lines of a process become log lines ("stdout",
// "stderr") of the job it runs (of each job of the batch it runs), or of
// the runner's log between jobs.
//
// # Batches
//
// An algorithm that the worker announces with a batch spec (the Python
// SDK's @conveyor.batch) gets its jobs in batch messages: up to max_size
// jobs, sent when that many wait, max_wait after the first, or as soon as
// a process is free while all were busy. A batch takes one slot of a
// process; the runner gives the algorithm 2 × max_size slots per process
// slot, one batch running and the next filling (runner.Batcher). Each job
// keeps its own attempt: the worker answers it alone, a failure of the
// whole batch fails each job, and each is retried on its own. Batch sizes
// go to the conveyor_batch_size histogram.
//
// # Failures
//
// A process that exits during a job fails the attempt as "crashed" with
// the tail of its stderr; the runner retries it per its policy and the
// pool starts a replacement. On cancel or timeout the process gets a
// cancel message; if it has not answered after the entry's grace period
// (default 5s) it is killed — with every process it started, on Linux
// also those that left its process group — and replaced. A malformed
// protocol line is reported in the job's log and the runner's log and
// skipped. A process that fails its handshake or dies within 10s of its
// start is restarted with exponential backoff (0.5s doubling, at most a
// minute, with jitter), and jobs waiting when no process is left fail as "crashed"
// with its error. Close stops every process: fd 3 is closed, and the
// process and what it started are killed after the grace period. When a
// process exits, whatever it left running is killed; when the runner
// dies, even by SIGKILL, its processes die with it.
//
// Importing the package registers the kind as "worker" (on Unix systems).
package workerkind
