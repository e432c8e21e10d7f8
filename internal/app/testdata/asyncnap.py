"""An async handler for the crash test: it says which process runs it
(its progress message), notes when each attempt starts and ends in a log
file, and sleeps."""

import asyncio
import json
import os
import time

import conveyor


def note(path, job, event):
    with open(path, "a") as f:
        f.write(json.dumps({"id": job.id, "attempt": job.attempt, "event": event, "t": time.time(), "pid": os.getpid()}) + "\n")


async def run_nap(seconds: float, log: str, job: conveyor.Job) -> dict:
    """Sleeps, noting its start and end."""
    note(log, job, "start")
    job.progress(1, "pid %d" % os.getpid())
    await asyncio.sleep(seconds)
    note(log, job, "end")
    return {"pid": os.getpid(), "attempt": job.attempt}
