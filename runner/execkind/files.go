package execkind

import "github.com/conveyor-run/conveyor/runner"

// UsesLocalFiles tells the runner to copy the files a job's input
// references to local read-only files before the attempt, and to give
// the job each reference with its path (see runner.LocalFiles).
func (h *handler) UsesLocalFiles() {}

var _ runner.LocalFiles = (*handler)(nil)
