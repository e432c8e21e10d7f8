package conveyor

import (
	"encoding/json"
	"time"
)

// This file holds the wire types of HTTP API v1, shared by the gateway that
// serves them and the Go client that calls them.

// SubmitRequest is the body of POST /v1/jobs. For POST
// /v1/algorithms/{name}/jobs the body is Input alone and the other fields
// come from the query string.
type SubmitRequest struct {
	Algorithm      string            `json:"algorithm"`
	Input          json.RawMessage   `json:"input"`
	Priority       Priority          `json:"priority,omitempty"`
	IdempotencyKey string            `json:"idempotency_key,omitempty"`
	Mutex          string            `json:"mutex,omitempty"`
	Timeout        Duration          `json:"timeout,omitempty"`
	MaxAttempts    int               `json:"max_attempts,omitempty"`
	CallbackURL    string            `json:"callback_url,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
	// Requires routes the job to the runners whose labels include every
	// pair (see Requirements); a job no live runner meets stays queued.
	Requires Requirements `json:"requires,omitempty"`
	// Delay or RunAt (at most one) make the job scheduled until then,
	// queued from then on. A time in the past queues it at once; one
	// beyond the broker's retention is refused.
	Delay Duration   `json:"delay,omitempty"`
	RunAt *time.Time `json:"run_at,omitempty"`
}

// MaxBatch is the most jobs one BatchRequest may hold.
const MaxBatch = 1000

// BatchRequest is the body of POST /v1/jobs/batch: jobs to submit at
// once (at most MaxBatch), each as POST /v1/jobs takes it. The answer is
// a JobList of the jobs, in the same order. A refused batch's Problem
// names the refused job in its Errors' pointers: /jobs/N, or
// /jobs/N/input/… for its input's violations.
type BatchRequest struct {
	Jobs []SubmitRequest `json:"jobs"`
}

// JobFilter is the body of POST /v1/jobs/retry and POST /v1/jobs/cancel:
// the jobs to act on, every field narrowing the match (a zero field
// matches every job). Status defaults to failed and canceled for a retry
// and to every unfinished status for a cancel; a retry acts on final
// jobs only, a cancel on unfinished ones. A token of a tenant acts on its
// tenant's jobs only.
type JobFilter struct {
	Algorithm string            `json:"algorithm,omitempty"`
	Status    []Status          `json:"status,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	// CreatedAfter (inclusive) and CreatedBefore (exclusive), when set,
	// bound the jobs' creation times.
	CreatedAfter  *time.Time `json:"created_after,omitempty"`
	CreatedBefore *time.Time `json:"created_before,omitempty"`
}

// Count is the answer to POST /v1/jobs/retry and POST /v1/jobs/cancel:
// how many jobs were retried (new jobs made) or canceled.
type Count struct {
	Count int `json:"count"`
}

// JobSummary is a job as GET /v1/jobs lists it: what a list shows and a
// search filters on, without the job's input and output (unless the list
// was asked to include them) or its error's detail. Its fields mean what
// the Job's of the same names do.
type JobSummary struct {
	ID          string            `json:"id"`
	Algorithm   string            `json:"algorithm"`
	Status      Status            `json:"status"`
	Tenant      string            `json:"tenant,omitempty"`
	Priority    Priority          `json:"priority"`
	Labels      map[string]string `json:"labels,omitempty"`
	Requires    Requirements      `json:"requires,omitempty"`
	RetryOf     string            `json:"retry_of,omitempty"`
	Attempt     int               `json:"attempt"`
	MaxAttempts int               `json:"max_attempts"`
	Progress    *Progress         `json:"progress,omitempty"`
	Error       *JobError         `json:"error,omitempty"`
	Stage       *Stage            `json:"stage,omitempty"`
	Runner      string            `json:"runner,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
	StartedAt   *time.Time        `json:"started_at,omitempty"`
	FinishedAt  *time.Time        `json:"finished_at,omitempty"`
	// Duration is how long a final job ran: from its first start to its
	// end, retries and their waits included. A job that never started has
	// none.
	Duration *Duration `json:"duration,omitempty"`
	// Input and Output are set only when the list includes them
	// (?include=input,output).
	Input  json.RawMessage `json:"input,omitempty"`
	Output json.RawMessage `json:"output,omitempty"`
}

// Summarize returns the summary of a job record (the JSON of a Job), or
// an error if data is not one. The summary holds no input or output, no
// error detail and no stage input, whatever their size in the record.
func Summarize(data []byte) (*JobSummary, error) {
	// The record's input and output are skipped, not copied: they may be
	// large, and a summary never holds them.
	var r struct {
		JobSummary
		Input  skipped `json:"input"`
		Output skipped `json:"output"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, err
	}
	s := r.JobSummary
	if s.ID == "" {
		return nil, Errorf(EINVALID, "job record without an id")
	}
	if s.Error != nil {
		s.Error.Detail = ""
	}
	if s.Stage != nil {
		s.Stage.Input, s.Stage.InputRef = nil, nil
	}
	if s.Status.Terminal() && s.StartedAt != nil && s.FinishedAt != nil {
		d := runTime(*s.StartedAt, *s.FinishedAt)
		s.Duration = &d
	}
	return &s, nil
}

// runTime is how long a final job ran, from its start to its end, as a
// summary gives it: to the microsecond under a second, else to the
// millisecond.
func runTime(start, end time.Time) Duration {
	d := end.Sub(start)
	if d >= time.Second {
		d = d.Round(time.Millisecond)
	} else {
		d = d.Round(time.Microsecond)
	}
	return Duration(max(d, 0))
}

// skipped is a JSON value read and thrown away.
type skipped struct{}

func (*skipped) UnmarshalJSON([]byte) error { return nil }

// JobPage is the body of GET /v1/jobs: a page of job summaries, newest
// first (oldest first with ?order=oldest). NextCursor, when not empty, is
// the `cursor` query value of the next page.
type JobPage struct {
	Jobs       []*JobSummary `json:"jobs"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// JobList is the body of the answer to POST /v1/jobs/batch: whole jobs,
// in the order they were given.
type JobList struct {
	Jobs []*Job `json:"jobs"`
}

// AlgorithmInfo is one entry of GET /v1/algorithms: the algorithm as its
// runners announced it, plus what the gateway knows of it now.
type AlgorithmInfo struct {
	Algorithm
	// Runners are the ids of the live runners that serve it (for a
	// pipeline, those that serve any of its stages).
	Runners []string `json:"runners"`
	// Workers is how many of its jobs the live runners run at once, in all.
	Workers int `json:"workers"`
	// Queued and Running count its jobs, and the pipeline jobs whose
	// current stage it is: the backlog its workers face.
	Queued  int `json:"queued"`
	Running int `json:"running"`
	// Conflicts are the live runners that announce the algorithm with
	// another input schema than the registered one.
	Conflicts []SchemaConflict `json:"conflicts,omitempty"`
	// Unmet are the requirement sets of its queued jobs that no live
	// runner serving it meets: those jobs wait for such a runner. Shown
	// to tokens of no tenant only.
	Unmet []Unmet `json:"unmet,omitempty"`
}

// Unmet is a requirement set (SubmitRequest.Requires) that jobs wait with,
// and why no runner takes them.
type Unmet struct {
	Requires Requirements `json:"requires"`
	Queued   int          `json:"queued"`
	Reason   string       `json:"reason"`
}

// SchemaConflict is a runner serving an algorithm with an input schema
// other than the one registered for it; digests are SHA-256 of the
// schema's canonical JSON.
type SchemaConflict struct {
	Runner            string `json:"runner"`
	InputSchemaSHA256 string `json:"input_schema_sha256"`
	RegisteredSHA256  string `json:"registered_sha256"`
}

// AlgorithmList is the body of GET /v1/algorithms, sorted by name.
type AlgorithmList struct {
	Algorithms []AlgorithmInfo `json:"algorithms"`
}

// RunnerInfo describes a live runner, as it registers itself.
type RunnerInfo struct {
	ID         string   `json:"id"`
	Host       string   `json:"host"`
	PID        int      `json:"pid"`
	Version    string   `json:"version"`
	Algorithms []string `json:"algorithms"`
	// Capacity is how many jobs the runner runs at once, in all; Busy how
	// many it runs now.
	Capacity int `json:"capacity"`
	Busy     int `json:"busy"`
	// Prefetched is how many more jobs the runner has taken from the
	// queue, to start as soon as a slot frees: held by a worker process
	// (prefetch), or waiting for one of an entry whose algorithms share
	// its processes. They are in neither Capacity nor Busy.
	Prefetched int `json:"prefetched,omitempty"`
	// Processes is the most worker processes (kind worker) the runner
	// starts; each holds its entry's concurrency of those jobs.
	Processes int `json:"processes,omitempty"`
	// Resources are what the runner hands its worker processes: {"gpu": 2}.
	Resources map[string]int `json:"resources,omitempty"`
	// Labels are the runner's labels, from its config: {"zone": "eu"}.
	Labels map[string]string `json:"labels,omitempty"`
	// Devices is the load of each of its GPUs.
	Devices []DeviceLoad `json:"devices,omitempty"`
	// Batches counts, by algorithm, the batches its worker processes
	// were sent (algorithms that run in batches, see Batch).
	Batches map[string]BatchCount `json:"batches,omitempty"`
	// Workers is the capacity for each algorithm: how many of its jobs the
	// runner runs at once.
	Workers   map[string]int `json:"workers,omitempty"`
	StartedAt time.Time      `json:"started_at"`
	LastSeen  time.Time      `json:"last_seen"`
	// Schemas is the SHA-256 of the input schema each algorithm has on this
	// runner, by name, so that gateways can spot conflicting runners.
	Schemas map[string]string `json:"schemas,omitempty"`
}

// DeviceLoad is what one GPU of a runner does: whether a worker process
// holds it, and how many jobs run on that process now.
type DeviceLoad struct {
	GPU  int  `json:"gpu"`
	Held bool `json:"held"`
	Jobs int  `json:"jobs"`
}

// BatchCount counts the batches of one algorithm a runner sent its worker
// processes since it started: Jobs / Batches is their mean size.
type BatchCount struct {
	Batches int64 `json:"batches"`
	Jobs    int64 `json:"jobs"`
	// Last is the size of the last one.
	Last int `json:"last"`
}

// RunnerList is the body of GET /v1/runners.
type RunnerList struct {
	Runners []RunnerInfo `json:"runners"`
}

// LogLine is one line of a job's log. Stream is stdout, stderr or log (a
// line the algorithm logged explicitly); Attempt is the attempt that wrote it.
type LogLine struct {
	Time    time.Time `json:"ts"`
	Stream  string    `json:"stream"`
	Line    string    `json:"line"`
	Attempt int       `json:"attempt,omitempty"`
}

// LogList is the body of GET /v1/jobs/{id}/logs, oldest line first.
type LogList struct {
	Logs []LogLine `json:"logs"`
}

// Problem is an RFC 9457 problem detail, the body of every error response
// (Content-Type application/problem+json). Errors lists each schema
// violation of a 400; Code is the Conveyor error code.
type Problem struct {
	Type     string      `json:"type"`
	Title    string      `json:"title"`
	Status   int         `json:"status"`
	Detail   string      `json:"detail,omitempty"`
	Instance string      `json:"instance,omitempty"`
	Code     string      `json:"code,omitempty"`
	Errors   []Violation `json:"errors,omitempty"`
	// Error is the algorithm's error when a synchronous call failed (422).
	Error *JobError `json:"error,omitempty"`
}

// Health is the body of GET /healthz and /readyz.
type Health struct {
	Status  string            `json:"status"` // "ok" or "unavailable"
	Version string            `json:"version"`
	Checks  map[string]string `json:"checks,omitempty"`
}

// Version is this build's version, set by the linker
// (-ldflags "-X github.com/conveyor-run/conveyor.Version=v1.2.3").
var Version = "dev"
