"""The algorithms behind the golden transcripts of workerproto/testdata.

Changing anything here changes the hello line of every transcript.
"""

import time
from dataclasses import dataclass
from enum import Enum
from typing import Iterator, List, Literal, Optional

import conveyor


def run_word_count(text: str, top: int = 10) -> dict:
    """Counts the words of a text.

    Args:
        text: the text to count.
        top: how many of the most frequent words to return.
    """
    print("counting words")  # stdout: a log line of the job, never a protocol line
    words = text.split()
    counts = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return {"words": len(words), "top": [[w, n] for w, n in ranked]}


class Unit(Enum):
    """A unit of length."""

    M = "m"
    KM = "km"


@dataclass
class Leg:
    """One leg of a route."""

    distance: float
    unit: Unit = Unit.M


@conveyor.algorithm(name="route_length", description="Adds up the legs of a route.")
def total(legs: List[Leg], rounding: Literal["none", "int"] = "none", job: Optional[conveyor.Job] = None) -> float:
    metres = 0.0
    for i, leg in enumerate(legs):
        metres += leg.distance * (1000 if leg.unit is Unit.KM else 1)
        job.progress(100 * (i + 1) / len(legs), "leg %d" % (i + 1))
    return float(round(metres)) if rounding == "int" else metres


def run_fail(message: str) -> None:
    """Raises ValueError(message)."""
    raise ValueError(message)


def run_flaky(job: conveyor.Job) -> None:
    """Fails with a retryable error."""
    job.log("calling a flaky service", level="warning")
    raise conveyor.RetryableError("service unavailable")


def run_wait_for_cancel(job: conveyor.Job) -> None:
    """Reports progress once, then waits until it is canceled."""
    job.progress(1, "waiting")
    while not job.cancelled:
        time.sleep(0.005)
    job.check()


def run_countdown(n: int = 3) -> Iterator[float]:
    """A generator: yields progress, returns nothing."""
    for i in range(n):
        yield 100 * i / n


@conveyor.batch(max_size=3, max_wait=1.0)
def lengths(texts: List[str], batch: conveyor.Batch) -> List[int]:
    """Measures texts in batches.

    "boom" fails its own job, "raise" fails the batch, "short" makes the
    list of outputs one short.
    """
    batch.log("measuring %d texts" % len(texts))
    if "raise" in texts:
        raise conveyor.RetryableError("the model is not ready")
    out = [ValueError("cannot measure boom") if t == "boom" else len(t) for t in texts]
    if "short" in texts:
        out.pop()
    return out
