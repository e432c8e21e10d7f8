//go:build unix

package app

import "golang.org/x/sys/unix"

// freeSpace returns the bytes free for an unprivileged writer on the
// file system of dir.
func freeSpace(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}
