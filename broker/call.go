package broker

import (
	"encoding/json"

	"github.com/conveyor-run/conveyor"
)

// The synchronous path: a gateway sends a call — the input of one
// algorithm — as a core NATS request to RunSubject, in which every runner
// of the algorithm is a member of the queue group CallQueue, so one runner
// answers. Nothing is stored: it is for short work whose caller waits.

// CallQueue is the queue group runners join for calls.
const CallQueue = "conveyor-runners"

// CallDeadlineHeader carries when the caller stops waiting, in Unix
// nanoseconds, so a runner does not start work nobody will read.
const CallDeadlineHeader = "Conveyor-Deadline"

// CallSubject is the subject of calls to algorithm.
func CallSubject(algorithm string) string { return "conveyor.call." + algorithm }

// CallReply is a runner's answer to a call: the output, or why it failed.
type CallReply struct {
	Output json.RawMessage    `json:"output,omitempty"`
	Error  *conveyor.JobError `json:"error,omitempty"`
}
