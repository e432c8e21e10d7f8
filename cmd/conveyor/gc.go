package main

import (
	"os"

	"github.com/conveyor-run/conveyor/internal/gcpace"
)

// serveGCPercent is the GC target of serve when GOGC is not set. A job
// server allocates a little per job and keeps little; collecting at 4× the
// live heap instead of 2× costs memory it has and saves about a tenth of
// its CPU under load (measured with bench/load). While a large file moves
// through the object store, serve collects more often (see gcpace).
const serveGCPercent = 400

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		gcpace.Tune(serveGCPercent)
	}
}
