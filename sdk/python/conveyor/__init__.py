"""Conveyor's Python SDK: serve Python functions as Conveyor algorithms,
and submit jobs over HTTP. Standard library only; Python 3.9 or newer.

Write a module::

    # mymodule.py
    import conveyor

    def run_word_count(text: str, top: int = 10) -> dict:
        \"\"\"Counts the words of a text.\"\"\"
        ...

    @conveyor.algorithm(name="train", description="Trains a model.")
    def train(epochs: int, job: conveyor.Job) -> dict:
        for e in range(epochs):
            job.progress(100 * e / epochs, "epoch %d" % e)
        ...

and add one entry to conveyor's config::

    algorithms:
      - {kind: worker, command: [python3, -m, conveyor.worker, mymodule]}

A model that is faster on many inputs at once takes them in batches::

    @conveyor.batch(max_size=32, max_wait=0.01)
    def embed(texts: list[str]) -> list[list[float]]:
        return model.encode(texts).tolist()

Each job's input is one ``str``; the runner hands the function up to 32
queued jobs at once, waiting at most 10 ms for more.

A handler that is a stage of a pipeline may end the whole job early with
``return conveyor.final(output)``, or pick the stage to run next with
``return conveyor.next_stage("stage", output)``.

A parameter annotated ``conveyor.File`` takes an uploaded file: the input
holds ``{"$file": id}`` (from ``Client.upload(path)``) and the handler gets
a local read-only copy (``.path``, ``.open()``, ``.size``, ``.sha256``).
A job's big outputs are artifacts: ``job.artifact("model.bin")`` returns a
file to write, and a handler may return ``bytes`` or
``conveyor.File(path)`` of a local file; ``Client.download(job, name,
path)`` fetches one.

Submit jobs from Python with ``conveyor.Client(url)``.
"""

from .client import AlgorithmFailed, APIError, AsyncClient, Client, JobFailed, RunTimeout, Unavailable, verify_callback
from .files import File
from .job import Batch, Cancelled, Job, RetryableError
from .registry import algorithm, batch
from .route import Routed, final, next_stage
from .schema import ValidationError

__all__ = ["File", "algorithm", "batch", "Batch", "final", "next_stage", "Routed", "Job", "RetryableError", "Cancelled", "ValidationError", "Client", "AsyncClient", "APIError", "JobFailed", "AlgorithmFailed", "Unavailable", "RunTimeout", "verify_callback"]
__version__ = "0.1.0"
