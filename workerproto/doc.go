// Package workerproto is the worker protocol, version 1: how a runner and
// a long-lived worker process (any language) exchange jobs and their
// results as JSON lines over two pipes.
//
// # File descriptors
//
// The runner starts the worker with two extra file descriptors:
//
//	fd 3 (JobsFD)    runner → worker: the worker reads job, batch and cancel lines
//	fd 4 (EventsFD)  worker → runner: the worker writes hello, progress,
//	                 log, result and error lines
//
// Stdin is /dev/null. Stdout and stderr are ordinary pipes whose lines
// become log lines of the job the worker is running (runner logs between
// jobs), so a stray print never corrupts the protocol. The environment has
// CONVEYOR_PROTOCOL=1.
//
// # Messages
//
// Each line is one JSON object with a "type". The worker speaks first:
//
//	{"type":"hello","protocol":1,"algorithms":[{"name":…,"description":…,"input_schema":{…},"output_schema":{…}}]}
//
// then receives one job at a time (or a batch of jobs of an algorithm
// announced with "batch":{"max_size":…,"max_wait":…}) and answers each job
// with exactly one result or error, after any number of progress and log
// lines:
//
//	runner → worker  {"type":"job","id":…,"algorithm":…,"input":…,"attempt":1,"deadline":"2030-01-02T03:04:05Z"}
//	runner → worker  {"type":"batch","algorithm":…,"jobs":[{"id":…,"input":…,"attempt":1},…]}
//	runner → worker  {"type":"cancel","id":…}
//	worker → runner  {"type":"progress","id":…,"percent":42.5,"message":…}
//	worker → runner  {"type":"log","id":…,"level":"info","message":…}
//	worker → runner  {"type":"result","id":…,"output":…}
//	worker → runner  {"type":"error","id":…,"error":{"type":…,"message":…,"detail":…},"retryable":false}
//
// PROTOCOL.md, beside this file, is the full specification, written so
// that a worker library in another language can be built from it alone;
// testdata/*.jsonl are golden transcripts that the Go tests and the Python
// SDK's tests both replay.
//
// This package encodes and decodes the messages. Decode never panics: a
// malformed line is a *DecodeError that says what is wrong with it.
package workerproto
