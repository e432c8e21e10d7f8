"""A worker module for TestTraceparent: it answers with the job's trace context."""

import conveyor


def run_trace(job: conveyor.Job) -> dict:
    return {"traceparent": job.traceparent}
