// Package procattr gives the process attributes runner kinds start their
// child processes with: a process group of their own, so that a stop
// reaches the child's children too, and, on Linux, death with the runner.
package procattr
