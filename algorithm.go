package conveyor

import (
	"encoding/json"
	"regexp"
)

// Algorithm describes a named kind of work as runners announce it and the
// gateway publishes it: its schemas, its kind, and the defaults its jobs get.
type Algorithm struct {
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	Kind         string          `json:"kind"`
	InputSchema  json.RawMessage `json:"input_schema,omitempty"`
	OutputSchema json.RawMessage `json:"output_schema,omitempty"`
	// Timeout bounds one attempt; zero means none.
	Timeout Duration `json:"timeout,omitempty"`
	// MaxAttempts is the default for its jobs; zero means DefaultMaxAttempts.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// MaxQueued caps how many of its jobs may wait in the queue; a submit
	// past it is refused with 429. Zero means no cap.
	MaxQueued int `json:"max_queued,omitempty"`
	// Pipeline, for an algorithm of kind pipeline, is what its jobs run.
	Pipeline *Pipeline `json:"pipeline,omitempty"`
	// Batch, for an algorithm whose jobs run in batches (a worker's
	// @conveyor.batch function), is how the batches form.
	Batch *Batching `json:"batch,omitempty"`
}

// Batching is how the jobs of an algorithm that runs them in batches are
// grouped: a batch holds at most MaxSize jobs, and leaves at most MaxWait
// after its first job came (sooner when it is full).
type Batching struct {
	MaxSize int      `json:"max_size"`
	MaxWait Duration `json:"max_wait"`
}

// KindPipeline is the kind of an algorithm made of stages.
const KindPipeline = "pipeline"

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// ValidateName returns an EINVALID error unless name is a valid algorithm
// name: a lower-case letter, then up to 62 lower-case letters, digits or '_'.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return Errorf(EINVALID, "invalid algorithm name %q: want ^[a-z][a-z0-9_]{0,62}$", name)
	}
	return nil
}

// AnyObjectSchema is the input schema of an algorithm that declares none:
// any JSON object.
var AnyObjectSchema = json.RawMessage(`{"type":"object"}`)
