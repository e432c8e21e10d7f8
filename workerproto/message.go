package workerproto

import (
	"encoding/json"
	"time"
)

// Version is the protocol version this package speaks: the "protocol" of
// a hello.
const Version = 1

// The file descriptors of the protocol pipes in the worker process.
const (
	// JobsFD is the worker's end of the runner → worker pipe: it reads
	// job and cancel lines from it.
	JobsFD = 3
	// EventsFD is the worker's end of the worker → runner pipe: it writes
	// hello, progress, log, result and error lines to it.
	EventsFD = 4
)

// MaxLineBytes bounds one protocol line, newline excluded. A longer line
// is a DecodeError (TooLong) and its bytes are discarded.
const MaxLineBytes = 16 << 20

// The message types, the "type" of each line.
const (
	TypeHello    = "hello"
	TypeJob      = "job"
	TypeBatch    = "batch"
	TypeCancel   = "cancel"
	TypeProgress = "progress"
	TypeLog      = "log"
	TypeResult   = "result"
	TypeError    = "error"
)

// Message is one protocol line: *Hello, *Job, *Batch, *Cancel, *Progress,
// *Log, *Result or *Error.
type Message interface {
	// Type returns the message's "type".
	Type() string
}

// Hello is the worker's first line: the protocol version it speaks and the
// algorithms it serves.
type Hello struct {
	Protocol   int         `json:"protocol"`
	Algorithms []Algorithm `json:"algorithms"`
	// Concurrency is how many jobs the worker runs at once, as asked by
	// CONVEYOR_CONCURRENCY; zero (absent) means one.
	Concurrency int `json:"concurrency,omitempty"`
	// Prefetch is how many jobs (or batches) the worker holds beyond
	// Concurrency, started in the order they came as its running ones
	// end, up to the CONVEYOR_PREFETCH the runner asked for; zero (absent)
	// means none: the runner then sends no more than Concurrency.
	Prefetch int `json:"prefetch,omitempty"`
}

// Algorithm is one algorithm a worker announces. InputSchema and
// OutputSchema are JSON Schema documents (draft 2020-12); an absent
// input_schema means any JSON object.
type Algorithm struct {
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema,omitempty"`
	OutputSchema json.RawMessage `json:"output_schema,omitempty"`
	// Batch, when set, says that the worker runs the algorithm's jobs in
	// batches: the runner sends them in Batch messages rather than Job
	// messages. InputSchema is then the schema of one job's input.
	Batch *BatchSpec `json:"batch,omitempty"`
}

// BatchSpec is how an algorithm that runs its jobs in batches wants them:
// at most MaxSize jobs in one Batch message, and the runner waits at most
// MaxWait seconds after the first job of a batch for more to come.
type BatchSpec struct {
	MaxSize int     `json:"max_size"`
	MaxWait float64 `json:"max_wait"`
}

// Job asks the worker to run one attempt of a job. Deadline, when set, is
// when the runner will cancel the attempt for taking too long. A job the
// worker is to hold (prefetched: sent while its slots are all busy) has
// no deadline yet but a Timeout, in seconds, counted from its start.
type Job struct {
	ID        string          `json:"id"`
	Algorithm string          `json:"algorithm"`
	Input     json.RawMessage `json:"input"`
	Attempt   int             `json:"attempt"`
	Deadline  *time.Time      `json:"deadline,omitempty"`
	Timeout   float64         `json:"timeout,omitempty"`
	// Traceparent is the job's W3C trace context, when its submitter gave
	// one.
	Traceparent string `json:"traceparent,omitempty"`
	// OutputDir is the directory where the job writes its artifacts: each
	// file the worker leaves in it becomes one, named as the file, once
	// the job succeeds. A result's output may reference one as
	// {"$artifact": name}.
	OutputDir string `json:"output_dir,omitempty"`
}

// Batch asks the worker to run one attempt of each of Jobs, all of the
// algorithm Algorithm (one the worker announced with a BatchSpec), in one
// call of its handler. The worker answers each job on its own, with a
// Result or an Error carrying the job's ID, as it answers a Job.
type Batch struct {
	Algorithm string     `json:"algorithm"`
	Jobs      []BatchJob `json:"jobs"`
}

// BatchJob is one job of a Batch: the fields of a Job but its algorithm.
type BatchJob struct {
	ID          string          `json:"id"`
	Input       json.RawMessage `json:"input"`
	Attempt     int             `json:"attempt"`
	Deadline    *time.Time      `json:"deadline,omitempty"`
	Timeout     float64         `json:"timeout,omitempty"`
	Traceparent string          `json:"traceparent,omitempty"`
	OutputDir   string          `json:"output_dir,omitempty"`
}

// Cancel asks the worker to stop the job ID as soon as it can and answer
// it (with an error of type "canceled", or its result if it is done).
type Cancel struct {
	ID string `json:"id"`
}

// Progress reports how far the job ID is, 0–100.
type Progress struct {
	ID      string  `json:"id"`
	Percent float64 `json:"percent"`
	Message string  `json:"message,omitempty"`
}

// Log is one log line of the job ID, or of the worker itself when ID is
// empty. Level is free text ("debug", "info", "warning", "error"); empty
// means info. Stream, "stdout" or "stderr", marks a line the job printed
// that the worker passes on itself (a worker running several jobs at once
// cannot leave prints to the shared stdout and stderr pipes); empty means
// a line the job logged.
type Log struct {
	ID      string `json:"id,omitempty"`
	Level   string `json:"level,omitempty"`
	Message string `json:"message"`
	Stream  string `json:"stream,omitempty"`
}

// Result is the output of the job ID, any JSON value. It ends the job.
// Final and Next steer a pipeline job the algorithm is a stage of: Final
// ends the whole job with this output; Next names the stage to run next.
type Result struct {
	ID     string          `json:"id"`
	Output json.RawMessage `json:"output"`
	Final  bool            `json:"final,omitempty"`
	Next   string          `json:"next,omitempty"`
}

// Error fails the job ID. Retryable says whether another attempt may
// succeed; false fails the job for good. It ends the job.
type Error struct {
	ID        string    `json:"id"`
	Error     ErrorBody `json:"error"`
	Retryable bool      `json:"retryable"`
}

// ErrorBody is what went wrong: Type names the kind of failure (for the
// Python SDK, the exception's class, or "canceled", "invalid_input",
// "unknown_algorithm"), Message is one line, Detail may hold more (a
// traceback).
type ErrorBody struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Detail  string `json:"detail,omitempty"`
}

// Type returns "hello".
func (*Hello) Type() string { return TypeHello }

// Type returns "job".
func (*Job) Type() string { return TypeJob }

// Type returns "batch".
func (*Batch) Type() string { return TypeBatch }

// Type returns "cancel".
func (*Cancel) Type() string { return TypeCancel }

// Type returns "progress".
func (*Progress) Type() string { return TypeProgress }

// Type returns "log".
func (*Log) Type() string { return TypeLog }

// Type returns "result".
func (*Result) Type() string { return TypeResult }

// Type returns "error".
func (*Error) Type() string { return TypeError }

// FromWorker reports whether messages of type typ go from the worker to
// the runner (hello, progress, log, result, error) rather than the other
// way (job, batch, cancel).
func FromWorker(typ string) bool {
	switch typ {
	case TypeHello, TypeProgress, TypeLog, TypeResult, TypeError:
		return true
	}
	return false
}

// Interface guards.
var (
	_ Message = (*Hello)(nil)
	_ Message = (*Job)(nil)
	_ Message = (*Batch)(nil)
	_ Message = (*Cancel)(nil)
	_ Message = (*Progress)(nil)
	_ Message = (*Log)(nil)
	_ Message = (*Result)(nil)
	_ Message = (*Error)(nil)
)
