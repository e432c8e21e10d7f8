package broker

import (
	"encoding/json"

	"github.com/nats-io/nats.go"

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

// CallErrorHeader marks a reply to a call that failed: its data is then
// the JSON of a conveyor.JobError. A reply without it carries the output.
const CallErrorHeader = "Conveyor-Error"

// CallFailed returns the error a call's reply carries, or nil when the
// reply carries the output.
func CallFailed(m *nats.Msg) *conveyor.JobError {
	if m.Header.Get(CallErrorHeader) == "" {
		return nil
	}
	je := &conveyor.JobError{}
	if err := json.Unmarshal(m.Data, je); err != nil {
		return &conveyor.JobError{Type: conveyor.ErrorTypeError, Message: "unreadable error from the runner"}
	}
	return je
}

// Headers of a call's reply that steer a pipeline on the synchronous path,
// as the stage's output said (see conveyor.Route).
const (
	callFinalHeader = "Conveyor-Final"
	callNextHeader  = "Conveyor-Next"
)

// SetCallRoute marks a call's reply with route.
func SetCallRoute(m *nats.Msg, route conveyor.Route) {
	if route.Final {
		m.Header.Set(callFinalHeader, "true")
	}
	if route.Next != "" {
		m.Header.Set(callNextHeader, route.Next)
	}
}

// CallRoute returns the route a call's reply carries.
func CallRoute(m *nats.Msg) conveyor.Route {
	return conveyor.Route{Final: m.Header.Get(callFinalHeader) == "true", Next: m.Header.Get(callNextHeader)}
}
