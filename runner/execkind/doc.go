// Package execkind implements the exec runner kind: one operating-system
// process per job attempt, for batch scripts in any language.
//
// An entry of the config such as
//
//	algorithms:
//	  - {name: nightly_report, kind: exec, command: [python3, report.py], timeout: 2h}
//
// runs its command (an argv; never a shell) once per attempt, in its own
// process group, with a scrubbed environment. The attempt's input is a JSON
// file whose path is in CONVEYOR_INPUT; the same bytes are on the process's
// stdin. CONVEYOR_JOB_ID, CONVEYOR_ALGORITHM, CONVEYOR_ATTEMPT and, when
// set, CONVEYOR_DEADLINE and CONVEYOR_TRACEPARENT (the submitter's W3C
// trace context) describe the job. CONVEYOR_OUTPUT_DIR is an empty
// directory for the attempt's artifacts: each regular file the process
// leaves directly in it becomes an artifact of the job once the attempt
// succeeds (an output names one as {"$artifact": "<name>"}). The process
// talks back by prefixed lines on stdout:
//
//	OUTPUT: <json>          the attempt's result (exit status 0 required)
//	ERROR: <message>        fails the attempt with that message (it may be retried)
//	FATAL: <message>        fails the job with that message, without retries
//	PROGRESS: <pct> <msg>   progress, 0–100
//	LOG: <message>          a log line
//	FINAL: <json>           as OUTPUT:, and a pipeline job ends here with it
//	NEXT: <stage> <json>    as OUTPUT:, and the named pipeline stage runs next
//
// Any other stdout line is logged as "stdout", every stderr line as "stderr".
// A non-zero exit fails the attempt with the tail of stderr as detail. On
// cancel or timeout the whole process group gets SIGTERM, then SIGKILL after
// the entry's grace period; once the process exits, whatever it left
// running is killed. On Linux the process runs under a supervisor (see
// spawn.Start) that extends all this to every process it starts, also
// those that leave its group (setsid, double forks), and kills them all
// when the runner dies, even by SIGKILL. The per-attempt temporary
// directory (also the process's TMPDIR) is removed whatever happens; when
// the runner was killed before it could, the next start removes it (only
// directories of the algorithm's naming, conveyor-<name>-<digits>, older
// than that start and held by no live runner's attempt).
//
// Importing the package registers the kind as "exec" (on Unix systems).
package execkind
