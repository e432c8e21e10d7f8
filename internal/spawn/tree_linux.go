//go:build linux

package spawn

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// proc is one process as /proc/<pid>/stat tells it.
type proc struct{ pid, ppid, pgid int }

// processes lists every process of the pid namespace, from /proc.
func processes() []proc {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	list := make([]proc, 0, len(names))
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + name + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(stat[i+1:])
		if len(f) < 3 {
			continue
		}
		ppid, _ := strconv.Atoi(string(f[1]))
		pgid, _ := strconv.Atoi(string(f[2]))
		list = append(list, proc{pid, ppid, pgid})
	}
	return list
}

// descendants returns the processes below root: its children, theirs, and
// so on.
func descendants(root int) []proc {
	all := processes()
	children := map[int][]proc{}
	for _, p := range all {
		children[p.ppid] = append(children[p.ppid], p)
	}
	var found []proc
	queue := []int{root}
	for len(queue) > 0 {
		for _, c := range children[queue[0]] {
			found = append(found, c)
			queue = append(queue, c.pid)
		}
		queue = queue[1:]
	}
	return found
}

// signalTree sends sig to every descendant of this process. With a group
// (not 0) it signals the group as one and then each descendant outside
// it, so that none gets sig twice.
func signalTree(sig syscall.Signal, group int) {
	if group != 0 {
		_ = syscall.Kill(-group, sig)
	}
	for _, p := range descendants(os.Getpid()) {
		if group == 0 || p.pgid != group {
			_ = syscall.Kill(p.pid, sig)
		}
	}
}
