"""Algorithms for the concurrency tests: async and sync handlers."""

import asyncio
import sys
import threading
import time

import conveyor


async def run_nap(seconds: float = 0.3, job: conveyor.Job = None) -> dict:
    """Sleeps on the event loop, printing before and after."""
    print("start", job.id)
    job.progress(10, "napping")
    await asyncio.sleep(seconds)
    print("end", job.id, file=sys.stderr)
    return {"slept": seconds}


async def run_nap_bad(n: int) -> int:
    """Fails after a short nap."""
    await asyncio.sleep(0.01)
    raise ValueError("bad %d" % n)


_barrier = threading.Barrier(4, timeout=10)


def run_together(job: conveyor.Job) -> str:
    """A sync handler that returns only once four of its jobs run at once
    (in four threads), then prints without a newline."""
    _barrier.wait()
    print("partial line of", job.id, end="")
    return threading.current_thread().name


def run_stubborn_sync(seconds: float = 0.2, job: conveyor.Job = None) -> str:
    """A sync handler that checks for cancel while it works."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job.check()
        time.sleep(0.01)
    return "done"


def run_deadline(job: conveyor.Job) -> dict:
    """Returns the job's deadline and the time now."""
    import datetime
    return {"deadline": job.deadline.isoformat(), "now": datetime.datetime.now(datetime.timezone.utc).isoformat()}
