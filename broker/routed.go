package broker

import (
	"strings"

	"github.com/conveyor-run/conveyor"
)

// Routed queues. A job that requires runner labels (Job.Requires, see
// conveyor.Requirements) is queued on a subject of its own requirement
// set, conveyor.queue.<algorithm>.<priority>.r.<token>, which no plain
// consumer's filter (conveyor.queue.<algorithm>.<priority>, exact) takes:
// jobs without requirements stay on the subjects they always had. Each
// (algorithm, priority, requirement set) has one durable consumer shared
// by the runners whose labels meet the set, created on demand.

// RoutedQueueSubject is the subject of a queued job of algorithm and
// priority p that requires r; for an empty r it is QueueSubject.
func RoutedQueueSubject(algorithm string, p conveyor.Priority, r conveyor.Requirements) string {
	tok := r.Token()
	if tok == "" {
		return QueueSubject(algorithm, p)
	}
	return QueueSubject(algorithm, p) + ".r." + tok
}

// RoutedConsumerName is the durable consumer of the routed queue of
// algorithm, priority p and requirement set r: q_<algorithm>-<priority>-r-<token>.
// No plain consumer's name has "-r-" (no algorithm name holds '-', and
// the priorities do not), and the token holds no '.', '*' or '>'. For an
// empty r it is ConsumerName.
func RoutedConsumerName(algorithm string, p conveyor.Priority, r conveyor.Requirements) string {
	tok := r.Token()
	if tok == "" {
		return ConsumerName(algorithm, p)
	}
	if p == "" {
		p = conveyor.PriorityNormal
	}
	return "q_" + algorithm + "-" + string(p) + "-r-" + tok
}

// ParseRoutedSubject reads a routed queue subject back: its algorithm,
// priority and requirement set; ok is false for any other subject.
func ParseRoutedSubject(subject string) (algorithm string, p conveyor.Priority, r conveyor.Requirements, ok bool) {
	rest, found := strings.CutPrefix(subject, "conveyor.queue.")
	if !found {
		return "", "", nil, false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 4 || parts[2] != "r" {
		return "", "", nil, false
	}
	r, err := conveyor.ParseRequirementsToken(parts[3])
	if err != nil {
		return "", "", nil, false
	}
	return parts[0], conveyor.Priority(parts[1]), r, true
}

// LabelSubsets lists every non-empty subset of labels, the requirement
// sets a runner with those labels may take jobs of. A runner pulls only
// the consumers of the subsets that queued jobs use, so the 2^n-1 of them
// are names to match against, not consumers made up front.
func LabelSubsets(labels map[string]string) []conveyor.Requirements {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	var out []conveyor.Requirements
	for mask := 1; mask < 1<<len(keys); mask++ {
		r := conveyor.Requirements{}
		for i, k := range keys {
			if mask&(1<<i) != 0 {
				r[k] = labels[k]
			}
		}
		out = append(out, r)
	}
	return out
}
