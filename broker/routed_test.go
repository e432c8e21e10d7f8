package broker

import (
	"testing"

	"github.com/conveyor-run/conveyor"
)

func TestRoutedNames(t *testing.T) {
	plain := conveyor.Requirements(nil)
	if got, want := RoutedQueueSubject("embed", conveyor.PriorityHigh, plain), QueueSubject("embed", conveyor.PriorityHigh); got != want {
		t.Errorf("no requirements: subject %q, want the plain %q", got, want)
	}
	if got, want := RoutedConsumerName("embed", conveyor.PriorityNormal, plain), ConsumerName("embed", conveyor.PriorityNormal); got != want {
		t.Errorf("no requirements: consumer %q, want the plain %q", got, want)
	}
	r := conveyor.Requirements{"zone": "eu", "model": "llama"}
	subj := RoutedQueueSubject("embed", conveyor.PriorityHigh, r)
	if subj == QueueSubject("embed", conveyor.PriorityHigh) {
		t.Fatalf("routed subject %q is the plain one", subj)
	}
	alg, p, back, ok := ParseRoutedSubject(subj)
	if !ok || alg != "embed" || p != conveyor.PriorityHigh || back.Canonical() != r.Canonical() {
		t.Errorf("ParseRoutedSubject(%q) = %q %q %v %v", subj, alg, p, back, ok)
	}
	for _, s := range []string{QueueSubject("embed", conveyor.PriorityNormal), "conveyor.delay.x", "conveyor.queue.embed.normal.r.!!"} {
		if _, _, _, ok := ParseRoutedSubject(s); ok {
			t.Errorf("ParseRoutedSubject(%q): ok for a subject that is not routed", s)
		}
	}
	names := map[string]bool{}
	for _, prio := range Priorities {
		for _, req := range []conveyor.Requirements{nil, {"model": "llama"}, r} {
			n := RoutedConsumerName("embed", prio, req)
			if names[n] {
				t.Errorf("consumer name %q given twice", n)
			}
			names[n] = true
		}
	}
}
