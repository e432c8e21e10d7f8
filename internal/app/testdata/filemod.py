"""A Python worker module whose algorithm takes an uploaded file."""
import hashlib
import os

import conveyor


def run_digest(data: conveyor.File, block: int = 65536) -> dict:
    """Hashes an uploaded file."""
    h = hashlib.sha256()
    n = 0
    with data.open() as f:
        for chunk in iter(lambda: f.read(block), b""):
            h.update(chunk)
            n += len(chunk)
    return {"sha256": h.hexdigest(), "read": n, "size": data.size, "given_sha256": data.sha256,
            "path": data.path, "id": data.id, "writable": bool(os.stat(data.path).st_mode & 0o222)}
