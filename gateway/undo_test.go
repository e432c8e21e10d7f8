package gateway

import (
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker/brokertest"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestUndoTriedAgain: the record of a refused submit whose removal failed
// (the broker out of disk) is removed by the gateway's next tries, so it
// never stays queued.
func TestUndoTriedAgain(t *testing.T) {
	_, b := brokertest.Open(t)
	g := started(t, Config{Broker: b})
	j := &conveyor.Job{ID: "01J0000000000000000000UNDO", Algorithm: "a", Status: conveyor.StatusQueued, Input: []byte(`{}`), MaxAttempts: 1, CreatedAt: time.Now().UTC()}
	if _, err := b.CreateJob(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	g.undone.add(j.ID) // as undo does when the removal fails
	testenv.Eventually(t, "the record removed", func() bool {
		_, _, err := b.GetJob(t.Context(), j.ID)
		return conveyor.ErrorCode(err) == conveyor.ENOTFOUND && len(g.undone.pending()) == 0
	})
}
