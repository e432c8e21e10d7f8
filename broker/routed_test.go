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

func TestLabelSubsets(t *testing.T) {
	labels := map[string]string{"zone": "eu", "model": "llama", "gpu": "a100"}
	subs := LabelSubsets(labels)
	if len(subs) != 7 {
		t.Fatalf("%d subsets of 3 labels, want 7", len(subs))
	}
	seen := map[string]bool{}
	for _, s := range subs {
		if len(s) == 0 || !s.MetBy(labels) {
			t.Errorf("subset %v: empty or not met by %v", s, labels)
		}
		seen[s.Canonical()] = true
	}
	if len(seen) != 7 {
		t.Errorf("%d distinct subsets, want 7", len(seen))
	}
	if len(LabelSubsets(nil)) != 0 {
		t.Error("no labels: want no subsets")
	}
}
