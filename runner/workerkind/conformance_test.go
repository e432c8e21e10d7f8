//go:build unix

package workerkind

import (
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/runner"
	"github.com/conveyor-run/conveyor/runner/runnertest"
)

// TestConformance runs the runner kinds' conformance suite against Python
// worker functions (testdata/conformance.py).
func TestConformance(t *testing.T) {
	runnertest.Run(t, func(t *testing.T, b runnertest.Behaviour) runner.Handler {
		hs, _ := provision(t, Kind{}, pyEntry(t, func(e *config.Algorithm, o *Options) {
			e.Name = string(b)
			o.Process.Command[3] = "conformance"
			e.Grace = conveyor.Duration(time.Second)
		}))
		return hs[string(b)]
	})
}
