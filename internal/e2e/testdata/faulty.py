"""A worker algorithm for the fault test: a little work, then a result
that depends on the input, so a lost or mixed-up result shows."""

import time


def run_triple(n: int) -> dict:
    time.sleep(0.05)
    return {"n": n * 3}
