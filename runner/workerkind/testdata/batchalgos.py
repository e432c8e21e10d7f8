"""Batch algorithms for the worker kind's tests, run by the bundled SDK."""

import os
import time
from typing import List

import conveyor


def run_pid() -> int:
    """Returns the worker's pid."""
    return os.getpid()


@conveyor.batch(max_size=4, max_wait=5.0)
def measure(texts: List[str], batch: conveyor.Batch) -> List[dict]:
    """Measures texts in batches of up to 4.

    "boom" fails its own job, "raise" fails the batch (retryably), "short"
    returns one output too few, "crash" kills the process.
    """
    print("batch of %d" % len(texts))
    if "crash" in texts:
        os._exit(5)
    if "raise" in texts:
        raise conveyor.RetryableError("model not ready")
    out = [ValueError("cannot measure boom") if t == "boom" else {"len": len(t), "batch": len(texts), "pid": os.getpid()}
           for t in texts]
    if "short" in texts:
        out.pop()
    return out


@conveyor.batch(max_size=4, max_wait=5.0)
def hold_batch(paths: List[str], batch: conveyor.Batch) -> List[int]:
    """Reports progress, then waits until its first path exists, or until
    every job of the batch is canceled."""
    batch.progress(1, "waiting")
    while not os.path.exists(paths[0]):
        batch.check()
        time.sleep(0.005)
    return [os.getpid()] * len(paths)


@conveyor.batch(max_size=4, max_wait=5.0)
def stubborn(paths: List[str], batch: conveyor.Batch) -> List[int]:
    """Reports progress, then waits until its first path exists, whatever
    the cancels."""
    batch.progress(1, "waiting")
    while not os.path.exists(paths[0]):
        time.sleep(0.005)
    return [os.getpid()] * len(paths)
