"""The behaviours of runner/runnertest's conformance suite, as Python
worker functions."""

import time

import conveyor


def run_echo(**input) -> dict:
    """Returns its input."""
    return input


def run_fail(message: str) -> None:
    raise conveyor.RetryableError(message)


def run_fail_permanently(message: str) -> None:
    raise ValueError(message)


def run_report(job: conveyor.Job) -> dict:
    job.progress(50, "half")
    print("hello from the job")
    return {"ok": True}


def run_block(job: conveyor.Job) -> None:
    job.progress(1, "blocking")
    while True:
        time.sleep(0.005)
        job.check()
