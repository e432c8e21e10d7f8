package spawn

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"
)

// Limits are who a child runs as and the resource limits it runs within.
// The zero Limits changes nothing: the child runs as the runner, with the
// runner's limits.
type Limits struct {
	// Credential, when set, is the user and group the child runs as, with
	// no supplementary groups. Switching needs a runner running as root.
	Credential *syscall.Credential
	// Memory caps the address space in bytes (RLIMIT_AS); 0: no cap.
	Memory uint64
	// CPUSeconds caps CPU time (RLIMIT_CPU): SIGXCPU at the limit, SIGKILL
	// a second later; 0: no cap.
	CPUSeconds uint64
	// OpenFiles caps file descriptors (RLIMIT_NOFILE); 0: no cap.
	OpenFiles uint64
}

// LimitsOf returns the Limits of the processes of an exec or worker
// entry. It returns an error when its user does not exist.
func LimitsOf(a Options) (Limits, error) {
	l := Limits{
		Memory:     uint64(max(a.Rlimits.Memory, 0)),
		CPUSeconds: uint64(max(a.Rlimits.CPUSeconds, 0)),
		OpenFiles:  uint64(max(a.Rlimits.OpenFiles, 0)),
	}
	if a.User != "" {
		c, err := lookupUser(a.User)
		if err != nil {
			return Limits{}, err
		}
		l.Credential = c
	}
	return l, nil
}

// lookupUser resolves a user name, or a numeric uid, to its uid and
// primary gid, with no supplementary groups.
func lookupUser(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if u, err = user.LookupId(name); err != nil {
			return nil, fmt.Errorf("unknown user %q", name)
		}
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("user %q has no numeric uid and gid", name)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// rlimited reports whether l sets any resource limit.
func (l Limits) rlimited() bool {
	return l.Memory != 0 || l.CPUSeconds != 0 || l.OpenFiles != 0
}

// Owner returns the uid and gid files a child must own to be its own (its
// temporary input), and false when the child runs as the runner.
func (l Limits) Owner() (uid, gid int, ok bool) {
	if l.Credential == nil {
		return 0, 0, false
	}
	return int(l.Credential.Uid), int(l.Credential.Gid), true
}
