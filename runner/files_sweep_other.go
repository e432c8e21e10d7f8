//go:build !unix

package runner

import "time"

const (
	filesPrefix  = "conveyor-files-"
	outputPrefix = "conveyor-out-"
)

// oNoFollow: no such flag here.
const oNoFollow = 0

// lockFiles does nothing here: there is no flock(2).
func lockFiles(string) (func(), error) { return func() {}, nil }

// sweepFiles does nothing here: without locks a live attempt's files
// cannot be told from a dead one's.
func sweepFiles(string, time.Time) []string { return nil }
