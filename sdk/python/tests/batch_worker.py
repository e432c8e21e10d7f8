"""Batch algorithms for the SDK's batch tests."""

import asyncio
import os
import sys
from dataclasses import dataclass
from typing import List, Optional, Union

import conveyor


@dataclass
class Text:
    text: str
    upper: bool = False


@conveyor.batch(max_size=8, max_wait=0.002)
def shout(items: List[Text], batch: conveyor.Batch) -> List[Union[str, Exception]]:
    """Upper-cases texts; "bad" fails its own job, "raise" the batch,
    "none" returns None instead of a list."""
    print("batch of %d" % len(items))
    print("to stderr", file=sys.stderr)
    batch.jobs[0].log("first of the batch")
    texts = [i.text for i in items]
    if "raise" in texts:
        raise ValueError("the model fell over")
    if "none" in texts:
        return None
    return [ValueError("bad text") if t == "bad" else (t.upper() if i.upper else t) for t, i in zip(texts, items)]


@conveyor.batch(max_size=4, max_wait=0)
async def ashout(texts: List[str], job: conveyor.Batch) -> List[str]:
    """An async batch handler: waits until every job of it is canceled
    when a text is "wait"."""
    print("async batch of %d" % len(texts))
    if "wait" in texts:
        job.progress(1, "waiting")
        while True:
            await asyncio.sleep(0.005)
    return [t.upper() for t in texts]


@conveyor.batch
def pids(xs: list, other: Optional[int] = None) -> list:
    """A bare list: any inputs."""
    return [os.getpid() for _ in xs]
