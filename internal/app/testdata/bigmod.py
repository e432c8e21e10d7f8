"""A Python worker module for large inputs and outputs (issue 13)."""
import hashlib
import json


def run_digest(rows: list) -> dict:
    """What the worker saw of a large input: its rows and their digest."""
    data = json.dumps(rows, separators=(",", ":")).encode()
    return {"rows": len(rows), "sha256": hashlib.sha256(data).hexdigest()}


def run_blob(n: int) -> dict:
    """A large output: n rows."""
    return {"rows": [{"i": i, "s": "x" * 90} for i in range(n)]}
