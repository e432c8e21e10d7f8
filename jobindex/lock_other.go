//go:build !unix

package jobindex

import "os"

// lockFile does not lock where flock is missing: one gateway per data dir
// is then the operator's to keep.
func lockFile(string) (*os.File, error) { return nil, nil }

func unlockFile(*os.File) {}
