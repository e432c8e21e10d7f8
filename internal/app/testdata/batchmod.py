"""A batch algorithm for the server's batch tests."""

from typing import List, Union

import conveyor


@conveyor.batch(max_size=4, max_wait=5.0)
def embed(texts: List[str], batch: conveyor.Batch) -> List[Union[dict, Exception]]:
    """Measures texts, four at a time.

    "boom" fails its own job; "flaky" fails its batch (retryably) while any
    job of it is on its first attempt; "short" returns no outputs at all.
    """
    print("batch of %d" % len(texts))
    if "flaky" in texts and any(j.attempt == 1 for j in batch.jobs):
        raise conveyor.RetryableError("warming up")
    if "short" in texts:
        return []
    return [ValueError("cannot embed boom") if t == "boom" else {"len": len(t), "batch": len(texts)} for t in texts]
