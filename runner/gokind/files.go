package gokind

import "github.com/conveyor-run/conveyor/runner"

// UsesLocalFiles tells the runner to copy the files a job's input
// references to local read-only files before the attempt: a
// conveyor.File field of the input then has its Path (see
// runner.LocalFiles).
func (h *handler[In, Out]) UsesLocalFiles() {}

var _ runner.LocalFiles = (*handler[struct{}, struct{}])(nil)
