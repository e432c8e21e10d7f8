//go:build !unix

package app

import "errors"

// freeSpace is not measured here: the check passes.
func freeSpace(string) (uint64, error) {
	return 0, errors.New("free space: not measured on this system")
}
