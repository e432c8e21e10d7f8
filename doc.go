// Package conveyor holds Conveyor's domain: jobs, their statuses and the
// transitions between them, algorithms, and the coded errors every other
// package maps to the outside world.
//
// Conveyor turns a computation — a Go function, a Python model, a batch
// script — into a durable HTTP job service. This package imports only the
// standard library; the broker, gateway and runner packages depend on it,
// never the reverse.
//
// Go handlers report progress and logs through the context they are given:
//
//	func Train(ctx context.Context, in TrainInput) (TrainOutput, error) {
//		for epoch := range in.Epochs {
//			conveyor.SetProgress(ctx, 100*float64(epoch)/float64(in.Epochs), "training")
//			...
//		}
//	}
package conveyor
