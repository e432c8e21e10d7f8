"""The batch benchmark's algorithms (bench/batch.sh): one model call
costs 5 ms plus 0.1 ms per input, served unbatched and batched.

Both take {"n": int}, as bench/load submits."""

import os
import time
from typing import List, TypedDict

import conveyor

MAX_SIZE = int(os.environ.get("BATCH_MAX_SIZE", "32"))
MAX_WAIT = float(os.environ.get("BATCH_MAX_WAIT", "0.01"))


class Item(TypedDict):
    n: int


def model(ns):
    """The model: 5 ms per call, 0.1 ms per input."""
    time.sleep(0.005 + 0.0001 * len(ns))
    return [n * 2 for n in ns]


def run_cost_one(n: int) -> int:
    """One input per call."""
    return model([n])[0]


@conveyor.batch(max_size=MAX_SIZE, max_wait=MAX_WAIT)
def cost_batch(items: List[Item]) -> List[int]:
    """Up to MAX_SIZE inputs per call."""
    return model([i["n"] for i in items])
