"""A worker module for BenchmarkProgressCoalescing: progress as fast as asked."""

import time

import conveyor


def run_chatter(job: conveyor.Job, seconds: float = 1.0, rate: int = 10000) -> int:
    """Reports progress `rate` times a second for `seconds`; returns how many
    reports it sent."""
    n, start = 0, time.monotonic()
    total = int(seconds * rate)
    while n < total:
        # Keep to the rate: never ahead of where the clock says we should be.
        due = start + n / rate
        now = time.monotonic()
        if now < due:
            time.sleep(due - now)
        job.progress(100 * (n + 1) / total, "report %d" % (n + 1))
        n += 1
    return n
