"""A newcomer's module: one plain function is a whole algorithm. The
others show progress, cancel, retries and a crash."""

import os
import time

import conveyor


def run_word_count(text: str, top: int = 10) -> dict:
    """Counts the words of a text."""
    print("counting words")
    counts = {}
    for w in text.split():
        counts[w] = counts.get(w, 0) + 1
    return {"words": len(text.split()), "top": sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]}


def run_slow_count(n: int, job: conveyor.Job) -> int:
    """Counts to n, slowly, reporting progress; stops when canceled."""
    for i in range(n):
        job.progress(100 * i / n, "at %d" % i)
        time.sleep(0.01)
    return n


def run_flaky_count(text: str, job: conveyor.Job) -> int:
    """Fails its first attempt with a retryable error."""
    if job.attempt == 1:
        job.log("the service is busy", level="warning")
        raise conveyor.RetryableError("service busy")
    return len(text.split())


def run_crash_once(job: conveyor.Job) -> int:
    """Kills its worker on the first attempt."""
    if job.attempt == 1:
        os._exit(9)
    return os.getpid()


def run_fail(text: str) -> None:
    """Always fails."""
    raise ValueError("cannot count " + text)
