package conveyor

import (
	"context"
	"fmt"
)

// Reporter receives what a running attempt reports about itself. Runners
// give each attempt one; implementations are safe for concurrent use and
// never block for long (progress is coalesced, logs are buffered).
type Reporter interface {
	// Progress records how far the attempt is, 0–100, with a short message.
	Progress(percent float64, message string)
	// Log records one log line; stream is "stdout", "stderr" or "log".
	Log(stream, line string)
}

type reporterKey struct{}

// WithReporter returns a context that carries r for SetProgress and Logf.
func WithReporter(ctx context.Context, r Reporter) context.Context {
	return context.WithValue(ctx, reporterKey{}, r)
}

// SetProgress reports progress of the job whose context ctx is. It does
// nothing outside a job.
func SetProgress(ctx context.Context, percent float64, message string) {
	if r, ok := ctx.Value(reporterKey{}).(Reporter); ok {
		r.Progress(percent, message)
	}
}

// Logf adds a line to the log of the job whose context ctx is. It does
// nothing outside a job.
func Logf(ctx context.Context, format string, args ...any) {
	if r, ok := ctx.Value(reporterKey{}).(Reporter); ok {
		r.Log("log", fmt.Sprintf(format, args...))
	}
}
