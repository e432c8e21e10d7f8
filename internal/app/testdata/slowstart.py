# A worker module whose "model" takes a while to load, at import.
import time

time.sleep(1.5)


def run_quick(sleep: float = 0) -> dict:
    """Answers after sleeping a little."""
    time.sleep(sleep)
    return {"ok": True}
