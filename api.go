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

// JobList is the body of GET /v1/jobs: a page of jobs, newest first.
// NextCursor, when not empty, is the `cursor` query value of the next page.
type JobList struct {
	Jobs       []*Job `json:"jobs"`
	NextCursor string `json:"next_cursor,omitempty"`
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
	Capacity   int      `json:"capacity"`
	Busy       int      `json:"busy"`
	// Workers is the capacity for each algorithm: how many of its jobs the
	// runner runs at once.
	Workers   map[string]int `json:"workers,omitempty"`
	StartedAt time.Time      `json:"started_at"`
	LastSeen  time.Time      `json:"last_seen"`
	// Schemas is the SHA-256 of the input schema each algorithm has on this
	// runner, by name, so that gateways can spot conflicting runners.
	Schemas map[string]string `json:"schemas,omitempty"`
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
