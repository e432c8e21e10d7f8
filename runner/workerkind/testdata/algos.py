"""Algorithms for the worker kind's tests, run by the bundled SDK."""

import os
import sys
import time

import conveyor


def run_word_count(text: str, top: int = 10) -> dict:
    """Counts the words of a text."""
    print("counting", len(text), "characters")
    print("a warning", file=sys.stderr)
    words = text.split()
    return {"words": len(words), "pid": os.getpid()}


def run_report(job: conveyor.Job, steps: int = 3) -> int:
    """Reports progress and logs."""
    for i in range(steps):
        job.progress(100 * (i + 1) / steps, "step %d" % (i + 1))
    job.log("done stepping")
    job.log("careful", level="warning")
    print("printed last", flush=False)  # the SDK flushes before the result
    return os.getpid()


def run_fail(retryable: bool = False) -> None:
    """Fails, retryably or not."""
    if retryable:
        raise conveyor.RetryableError("try again later")
    raise ValueError("bad input file")


def run_hold(path: str, job: conveyor.Job, honour_cancel: bool = True) -> int:
    """Waits until path exists; stops on cancel if honour_cancel."""
    job.progress(1, "holding")
    while not os.path.exists(path):
        if honour_cancel:
            job.check()
        time.sleep(0.005)
    return os.getpid()


def run_crash(code: int = 3) -> None:
    """Dies mid-job."""
    print("about to crash", file=sys.stderr, flush=True)
    os._exit(code)


def run_garbage() -> str:
    """Writes garbage on the protocol pipe, then answers."""
    os.write(4, b"this is not a protocol line\n")
    os.write(4, b'{"type":"progress","id":"someone-else","percent":5}\n')
    return "still fine"


def run_pid() -> int:
    """Returns the worker's pid."""
    return os.getpid()


async def run_anap(path: str, job: conveyor.Job) -> int:
    """An async handler: reports progress, then waits (on the event loop)
    until path exists."""
    import asyncio

    print("start", job.id)
    job.progress(1, "waiting")
    while not os.path.exists(path):
        await asyncio.sleep(0.005)
    return os.getpid()


async def run_asleep(seconds: float) -> None:
    """An async handler that sleeps."""
    import asyncio

    await asyncio.sleep(seconds)


def run_gpus(path: str) -> str:
    """Waits until path exists, then returns the GPUs the process was
    given (CUDA_VISIBLE_DEVICES)."""
    import time

    while not os.path.exists(path):
        time.sleep(0.005)
    return os.environ.get("CUDA_VISIBLE_DEVICES", "") + "|" + os.environ.get("CONVEYOR_GPU", "")


def run_touch(path: str) -> int:
    """Creates path: a job that leaves a mark once it runs."""
    with open(path, "a"):
        pass
    return os.getpid()
