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

A handler that is a stage of a pipeline may end the whole job early with
``return conveyor.final(output)``, or pick the stage to run next with
``return conveyor.next_stage("stage", output)``.

Submit jobs from Python with ``conveyor.Client(url)``.
"""

from .client import AlgorithmFailed, APIError, AsyncClient, Client, JobFailed, RunTimeout, Unavailable, verify_callback
from .job import Cancelled, Job, RetryableError
from .registry import algorithm
from .route import Routed, final, next_stage
from .schema import ValidationError

__all__ = ["algorithm", "final", "next_stage", "Routed", "Job", "RetryableError", "Cancelled", "ValidationError", "Client", "AsyncClient", "APIError", "JobFailed", "AlgorithmFailed", "Unavailable", "RunTimeout", "verify_callback"]
__version__ = "0.1.0"
