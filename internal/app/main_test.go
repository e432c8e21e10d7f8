package app

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: every
// server a test starts — broker, runner, gateway, HTTP — must stop fully.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
