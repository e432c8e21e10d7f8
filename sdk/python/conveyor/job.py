"""The job context a handler receives, and the exceptions it may raise."""

import threading

from .artifacts import artifact_path

__all__ = ["Job", "Batch", "RetryableError", "Cancelled"]


class RetryableError(Exception):
    """Raise it for a transient failure (a flaky network, a busy database).

    The attempt fails and the job is tried again, with backoff, while it has
    attempts left. Any other exception fails the job at once.
    """


class Cancelled(BaseException):
    """Raised inside a handler by ``Job.progress`` and ``Job.check`` once
    the job has been canceled (by a client, or because its deadline
    passed). It derives from BaseException, like KeyboardInterrupt, so that
    ``except Exception`` does not swallow it. Let it propagate: the worker
    then reports the job as canceled and takes the next one.
    """


class Job:
    """The job a handler is running. Declare a parameter annotated
    ``conveyor.Job`` (or named ``job``) to receive it.

    Attributes:
        id: the job's id.
        algorithm: the algorithm's name.
        attempt: 1 for the first attempt, 2 and more for retries.
        deadline: when the attempt times out, an aware datetime, or None.
        traceparent: the W3C trace context of the request that submitted
            the job (a ``traceparent`` header value), or None. Pass it on to
            continue the trace.
        output_dir: the directory of the job's artifacts (see artifact),
            or None when the runner gave none.
    """

    def __init__(self, id, algorithm="", attempt=1, deadline=None, send=None, traceparent=None, output_dir=None):
        self.id = id
        self.output_dir = output_dir
        self.algorithm = algorithm
        self.attempt = attempt
        self.deadline = deadline
        self.traceparent = traceparent
        self._send = send or (lambda msg: None)
        self._cancel = threading.Event()
        self._partial = {}  # stream → what the job printed after its last newline
        self._batch = None  # the Batch the job runs in, if it does

    @property
    def cancelled(self):
        """True once the job has been canceled: stop as soon as you can."""
        return self._cancel.is_set()

    def check(self):
        """Raise Cancelled if the job has been canceled. A job of a batch
        raises it only once every job of the batch has been canceled: the
        others still want their outputs."""
        if self._batch is not None:
            self._batch.check()
        elif self._cancel.is_set():
            raise Cancelled(self.id)

    def progress(self, percent, message=""):
        """Report how far the job is, 0 to 100 (clamped), with a short
        message. Raises Cancelled if the job has been canceled, so a handler
        that reports progress honours cancel without more code."""
        self.check()
        percent = max(0.0, min(100.0, float(percent)))
        if percent != percent:  # NaN
            percent = 0.0
        msg = {"type": "progress", "id": self.id, "percent": percent}
        if message:
            msg["message"] = str(message)
        self._send(msg)

    def log(self, message, level="info"):
        """Add a line to the job's log. (print() works too: stdout and
        stderr lines become log lines of the job.)"""
        self._send({"type": "log", "id": self.id, "level": level, "message": str(message)})

    def artifact(self, name, mode="wb", **kwargs):
        """Create the artifact name of the job and return it open for
        writing (mode "wb", or "w" for text): a file the job keeps once it
        succeeds, listed in its record and downloaded with
        ``GET /v1/jobs/{id}/artifacts/{name}`` (``conveyor download``,
        ``Client.download(job, name, path)``). Should the attempt fail it
        is dropped. To pass it on to a pipeline's next stage, put
        ``{"$artifact": name}`` in the output: that stage gets it as a
        ``conveyor.File``. Raises ValueError for a name that is a path
        (see valid_artifact_name)."""
        if any(c in mode for c in "r+"):
            raise ValueError("an artifact is opened for writing: mode 'wb', 'w', 'ab' or 'a'")
        return open(artifact_path(self.output_dir, name), mode, **kwargs)

    def _set_cancelled(self):
        self._cancel.set()

    def _ids(self):
        return (self.id,)

    def __repr__(self):
        return "Job(id=%r, algorithm=%r, attempt=%r)" % (self.id, self.algorithm, self.attempt)


class Batch:
    """The jobs a batch handler (``@conveyor.batch``) is running, in the
    order of its inputs. Declare a parameter annotated ``conveyor.Batch``
    (or named ``job`` or ``batch``) to receive it.

    Attributes:
        jobs: the Job of each input, for what concerns one job
            (``batch.jobs[i].log(...)``, ``.id``, ``.attempt``).
        algorithm: the algorithm's name.
        deadline: the earliest deadline of its jobs, or None.
    """

    def __init__(self, jobs, algorithm=""):
        self.jobs = list(jobs)
        self.algorithm = algorithm
        deadlines = [j.deadline for j in self.jobs if j.deadline is not None]
        self.deadline = min(deadlines) if deadlines else None
        self._partial = {}
        for j in self.jobs:
            j._batch = self

    def __len__(self):
        return len(self.jobs)

    def __iter__(self):
        return iter(self.jobs)

    @property
    def cancelled(self):
        """True once every job of the batch has been canceled. (A job
        canceled alone keeps running with the others; its output is
        dropped.)"""
        return all(j.cancelled for j in self.jobs)

    def check(self):
        """Raise Cancelled if every job of the batch has been canceled."""
        if self.cancelled:
            raise Cancelled(",".join(j.id for j in self.jobs))

    def progress(self, percent, message=""):
        """Report the same progress for every job of the batch; raises
        Cancelled once all of them have been canceled."""
        self.check()
        for j in self.jobs:
            j.progress(percent, message)

    def log(self, message, level="info"):
        """Add a line to the log of every job of the batch."""
        for j in self.jobs:
            j.log(message, level)

    def _ids(self):
        return tuple(j.id for j in self.jobs)

    def __repr__(self):
        return "Batch(algorithm=%r, jobs=%r)" % (self.algorithm, [j.id for j in self.jobs])
