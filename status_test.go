package conveyor

import "testing"

// TestTransitions checks every (from, to) pair against the state machine,
// so a change to the table is a change to this test.
func TestTransitions(t *testing.T) {
	allowed := map[[2]Status]bool{
		{StatusScheduled, StatusQueued}:   true, // its time came
		{StatusScheduled, StatusRunning}:  true, // its time came and a runner took it at once
		{StatusScheduled, StatusCanceled}: true,
		{StatusQueued, StatusRunning}:     true,
		{StatusQueued, StatusCanceled}:    true,
		{StatusQueued, StatusFailed}:      true,
		{StatusRunning, StatusRunning}:    true, // redelivery after a crash starts a new attempt
		{StatusRunning, StatusQueued}:     true, // retry after a failed attempt
		{StatusRunning, StatusSucceeded}:  true,
		{StatusRunning, StatusFailed}:     true,
		{StatusRunning, StatusCanceled}:   true,
	}
	for _, from := range Statuses {
		for _, to := range Statuses {
			if got, want := from.CanMoveTo(to), allowed[[2]Status{from, to}]; got != want {
				t.Errorf("%s → %s: CanMoveTo = %v, want %v", from, to, got, want)
			}
		}
		if got, want := from.Terminal(), from == StatusSucceeded || from == StatusFailed || from == StatusCanceled; got != want {
			t.Errorf("%s.Terminal() = %v, want %v", from, got, want)
		}
	}
	if Status("paused").Valid() || Status("").Valid() {
		t.Error("unknown statuses must not be valid")
	}
}
