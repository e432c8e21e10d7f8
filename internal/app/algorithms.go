package app

import (
	"sync"

	"github.com/conveyor-run/conveyor/examples/primes"
)

var registerOnce sync.Once

// registerAlgorithms registers the Go algorithms this build serves. To add
// your own, write the handler — func(ctx, In) (Out, error) — and add one
// line here: gokind.Register("resize", images.Resize).
func registerAlgorithms() {
	registerOnce.Do(func() {
		primes.Register()
	})
}
