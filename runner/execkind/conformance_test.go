//go:build unix

package execkind

import (
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner"
	"github.com/conveyor-run/conveyor/runner/runnertest"
)

func TestConformance(t *testing.T) {
	runnertest.Run(t, func(t *testing.T, b runnertest.Behaviour) runner.Handler {
		return newHandler(t, []string{testenv.Python(t), "testdata/conformance.py", string(b)}, func(e *config.Algorithm, _ *Options) {
			e.Grace = conveyor.Duration(time.Second)
		})
	})
}
