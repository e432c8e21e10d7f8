"""A Python worker module whose algorithms write artifacts."""
import os
import tempfile

import conveyor


def run_notes(lines: int, job: conveyor.Job) -> dict:
    """Writes notes.txt with job.artifact."""
    with job.artifact("notes.txt", "w") as f:
        for i in range(lines):
            f.write("line %d\n" % i)
    return {"lines": lines}


def run_raw(n: int) -> bytes:
    """Returns n bytes: the artifact "output"."""
    return bytes(i % 251 for i in range(n))


def run_model(size: int) -> conveyor.File:
    """Returns a local file: the artifact model.bin."""
    path = os.path.join(tempfile.mkdtemp(), "model.bin")
    with open(path, "wb") as f:
        f.write(b"m" * size)
    return conveyor.File(path)


def run_bad_name(job: conveyor.Job) -> dict:
    """Asks for an artifact named as a path."""
    job.artifact("../escape.txt")
    return {}


def run_count(report: conveyor.File) -> dict:
    """A pipeline stage: counts the bytes of the report an earlier stage wrote."""
    with report.open() as f:
        data = f.read()
    return {"bytes": len(data), "text": data.decode(), "name": report.name}
