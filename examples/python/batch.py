"""A long batch job served by a persistent worker: it works through its
items for tens of seconds, reports progress, and stops when canceled."""

import time

import conveyor


def run_batch(job: conveyor.Job, items: int = 100, seconds: float = 20.0) -> dict:
    """Processes a batch of items, spread over a given time.

    Args:
        items: how many items to process.
        seconds: how long the whole batch takes.
    """
    if items < 1 or seconds < 0:
        raise ValueError("items must be at least 1 and seconds not negative")
    print("starting a batch of %d items over %gs" % (items, seconds))
    total = 0
    for i in range(items):
        time.sleep(seconds / items)  # the work of one item
        total += i * i
        # progress() raises conveyor.Cancelled once the job is canceled.
        job.progress(100 * (i + 1) / items, "item %d of %d" % (i + 1, items))
    return {"items": items, "checksum": total}
