"""A stand-in for a sentence embedder, to try batching without a model:
each job is one sentence, and the worker gets them in batches, as a model
on a GPU would want them. The "model" hashes words into a small vector;
its cost is 5 ms per call plus 0.1 ms per sentence, so one call for 32
sentences is far cheaper than 32 calls."""

import hashlib
import os
import time

import conveyor

DIMENSIONS = 8


@conveyor.batch(max_size=32, max_wait=0.01)
def embed(texts: list[str]) -> list[list[float]]:
    """Embeds sentences (a toy: word hashes, not meaning)."""
    time.sleep(0.005 + 0.0001 * len(texts))
    print("embedding %d sentences on GPU %s" % (len(texts), os.environ.get("CONVEYOR_GPU", "none")))
    out = []
    for text in texts:
        v = [0.0] * DIMENSIONS
        for word in text.lower().split():
            h = hashlib.sha256(word.encode()).digest()
            v[h[0] % DIMENSIONS] += 1.0
        norm = sum(x * x for x in v) ** 0.5 or 1.0
        out.append([round(x / norm, 4) for x in v])
    return out
