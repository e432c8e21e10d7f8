"""The worker's main loop: hello, then jobs and batches of jobs (one at a
time, or up to the concurrency the runner asks for) until fd 3 ends. Jobs
the runner sends beyond that (its prefetch) wait here, in the order they
came, until a running one is answered."""

import asyncio
import contextvars
import datetime
import os
import queue
import re
import sys
import threading
import traceback

from . import protocol
from .job import Batch, Cancelled, Job, RetryableError
from .registry import BatchLengthError
from .route import Routed
from .schema import ValidationError

__all__ = ["serve"]


class _Conn:
    """The two protocol pipes: jobs come in on rfd, messages go out on wfd."""

    def __init__(self, rfd, wfd):
        for fd in (rfd, wfd):
            os.set_inheritable(fd, False)  # the handler's subprocesses must not hold them
        self.r = os.fdopen(rfd, "rb", buffering=1 << 16)
        self.wfd = wfd
        self.lock = threading.Lock()

    def send(self, msg):
        self.write(protocol.encode(msg))

    def send_many(self, msgs):
        """Send msgs in one write (the answers of a batch)."""
        self.write(b"".join(protocol.encode(m) for m in msgs))

    def write(self, data):
        with self.lock:
            view = memoryview(data)
            while view:
                n = os.write(self.wfd, view)
                view = view[n:]


def _flush_stdio():
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except (OSError, ValueError, AttributeError):
            pass


_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", re.I)


def _deadline(s):
    """Parse an RFC 3339 time (any number of fractional digits) into an
    aware datetime; None if s is empty or not one."""
    m = _RFC3339.match(s or "")
    if not m:
        return None
    frac = (m.group(2) or "")[:6].ljust(6, "0")
    zone = "+00:00" if m.group(3).upper() == "Z" else m.group(3)
    try:
        return datetime.datetime.fromisoformat("%s.%s%s" % (m.group(1), frac, zone))
    except ValueError:
        return None


_CURRENT = contextvars.ContextVar("conveyor_job", default=None)  # the Job whose code runs here


class _JobStream:
    """Stands in for sys.stdout or sys.stderr while a worker runs several
    jobs at once: what a job's code prints (in its thread, or its asyncio
    task) becomes log lines of that job, sent as log messages with a
    stream; anything else goes to the real stream. A job's own threads and
    subprocesses write to the real stream: the runner cannot tell their
    lines apart, and logs them as the worker's."""

    def __init__(self, real, stream, send):
        self._real = real
        self._stream = stream
        self._send = send

    def write(self, text):
        job = _CURRENT.get()
        if job is None:
            return self._real.write(text)
        buf = job._partial.get(self._stream, "") + text
        *lines, rest = buf.split("\n")
        job._partial[self._stream] = rest
        for line in lines:
            self._emit(job, line)
        return len(text)

    def _emit(self, job, line):
        for jid in job._ids():  # a batch's lines are lines of each of its jobs
            self._send({"type": "log", "id": jid, "level": "info", "message": line.rstrip("\r"), "stream": self._stream})

    def end(self, job):
        """Send what job printed without a final newline."""
        rest = job._partial.pop(self._stream, "")
        if rest:
            self._emit(job, rest)

    def flush(self):
        self._real.flush()

    def __getattr__(self, name):  # fileno, isatty, encoding, buffer…
        return getattr(self._real, name)


class _Worker:
    """Runs jobs as the runner sends them: one at a time in the main thread
    when concurrency is 1; otherwise up to concurrency at once, synchronous
    handlers in a pool of that many threads and async ones on one event
    loop (in a thread of its own). Jobs beyond that are held, and started
    in the order they came, each once a running one has been answered: the
    runner, which reads that answer first, knows so that the held job runs
    now (workerproto/PROTOCOL.md, Prefetch)."""

    def __init__(self, algorithms, conn, concurrency=1, prefetch=0):
        self.algs = {a.name: a for a in algorithms}
        self.conn = conn
        self.concurrency = max(1, concurrency)
        self.prefetch = max(0, prefetch)
        self.jobs = queue.Queue()  # job messages for the main thread
        self.slots = threading.Semaphore(self.concurrency)  # taken from a job's start to its answer
        self.lock = threading.Lock()
        self.running = {}  # id → Job, from its job message to its answer
        self.held = {}  # id → the Job or Batch of a job not started yet (its _held set)
        self.tasks = {}  # id → asyncio.Task of an async job
        self.loop = None
        self.pool = None  # queue of the thread pool, when concurrency > 1
        self.streams = []  # the _JobStreams in place, when concurrency > 1

    def read_loop(self):
        """Read runner → worker lines: queue jobs, flag cancels."""
        try:
            for line in self.conn.r:
                if not line.strip():
                    continue
                try:
                    msg = protocol.decode(line)
                except protocol.ProtocolError as e:
                    print("conveyor.worker: %s" % e, file=sys.stderr, flush=True)
                    continue
                if msg["type"] == "job":
                    job = self._job(msg, msg["algorithm"])
                    job._held = True
                    with self.lock:
                        self.running[job.id] = job
                        self.held[job.id] = job
                    self.jobs.put((msg, job))
                elif msg["type"] == "batch":
                    batch = Batch([self._job(j, msg["algorithm"]) for j in msg["jobs"]], msg["algorithm"])
                    batch._held = True
                    with self.lock:
                        for job in batch.jobs:
                            self.running[job.id] = job
                            self.held[job.id] = batch
                    self.jobs.put((msg, batch))
                elif msg["type"] == "cancel":
                    self.cancel(msg["id"])
                else:
                    print("conveyor.worker: ignoring a %r message from the runner" % msg["type"], file=sys.stderr, flush=True)
        finally:
            self.jobs.put(None)

    def _job(self, msg, algorithm):
        """Return the Job of a job message, or of one job of a batch."""
        return Job(msg["id"], algorithm, int(msg.get("attempt") or 1), _deadline(msg.get("deadline")),
                   self.conn.send, msg.get("traceparent") or None, msg.get("output_dir") or None)

    def cancel(self, jid):
        """Flag the job jid canceled, and cancel its asyncio task if it has
        one — for a job of a batch, once every job of the batch is
        canceled. A job held, not started, is answered at once and never
        runs (a batch, once every job of it is canceled). A job that is
        not running is ignored."""
        dropped = None
        with self.lock:
            job = self.running.get(jid)
            task = self.tasks.get(jid)
            if job is None:
                return
            job._set_cancelled()
            what = self.held.get(jid)
            if what is not None and (job._batch is None or job._batch.cancelled):
                what._held = False
                dropped = what._ids()
                for i in dropped:
                    if self.held.get(i) is what:
                        del self.held[i]
                    self.running.pop(i, None)
        if dropped is not None:
            self.send_all([_error(i, "canceled", "the job was canceled before it started") for i in dropped])
            return
        if task is not None and (job._batch is None or job._batch.cancelled):
            self.loop.call_soon_threadsafe(task.cancel)

    def run(self):
        hello = {"type": "hello", "protocol": protocol.VERSION, "algorithms": [a.announce() for a in self.algs.values()]}
        if self.concurrency > 1:
            hello["concurrency"] = self.concurrency
        if self.prefetch > 0:
            hello["prefetch"] = self.prefetch
        if self.concurrency > 1 or self.prefetch > 0:
            # Jobs follow each other with no pause: the runner cannot tell
            # which one printed a line on the pipes.
            self.streams = [_JobStream(sys.stdout, "stdout", self.conn.send), _JobStream(sys.stderr, "stderr", self.conn.send)]
            sys.stdout, sys.stderr = self.streams
        if self.concurrency > 1:
            self.pool = queue.Queue()
            for i in range(self.concurrency):
                threading.Thread(target=self.pool_loop, name="conveyor-job-%d" % i, daemon=True).start()
        if any(a.is_async for a in self.algs.values()):
            self.loop = asyncio.new_event_loop()
            threading.Thread(target=self.loop.run_forever, name="conveyor-asyncio", daemon=True).start()
        self.conn.send(hello)
        reader = threading.Thread(target=self.read_loop, name="conveyor-reader", daemon=True)
        reader.start()
        while True:
            item = self.jobs.get()
            if item is None:
                return 0
            msg, job = item
            self.slots.acquire()  # released once its answer is written
            if not self.start(msg, job):
                self.slots.release()  # canceled while held: answered
                continue
            alg = self.algs.get(msg["algorithm"])
            if alg is not None and alg.is_async:
                asyncio.run_coroutine_threadsafe(self.run_async(msg, job, alg), self.loop)
            elif self.pool is not None:
                self.pool.put(item)
            else:
                self.send_all(self.run_item(msg, job))
                self.slots.release()

    def start(self, msg, job):
        """Take the job (or batch) out of those held; False if it was
        canceled meanwhile. A job sent with a timeout rather than a
        deadline gets its deadline now."""
        with self.lock:
            if not job._held:
                return False
            job._held = False
            for jid in job._ids():
                if self.held.get(jid) is job:  # not a later message of the same id
                    del self.held[jid]
        now = None
        for j, m in zip(getattr(job, "jobs", [job]), msg.get("jobs", [msg])):
            t = m.get("timeout")
            if j.deadline is None and t:
                now = now or datetime.datetime.now(datetime.timezone.utc)
                j.deadline = now + datetime.timedelta(seconds=t)
        if now is not None and isinstance(job, Batch):
            job.deadline = min(j.deadline for j in job.jobs if j.deadline is not None)
        return True

    def pool_loop(self):
        while True:
            msg, job = self.pool.get()
            self.send_all(self.run_item(msg, job))
            self.slots.release()

    def send_all(self, answers):
        if len(answers) == 1:
            self.conn.send(answers[0])
        elif answers:
            self.conn.send_many(answers)

    def run_item(self, msg, job):
        """Run a job, or a batch; return its answer messages."""
        if msg["type"] == "batch":
            return self.run_batch(msg, job)
        return [self.run_job(msg, job)]

    def run_batch(self, msg, batch):
        """Run one batch of a synchronous batch handler; return an answer
        for each of its jobs."""
        token = _CURRENT.set(batch) if self.streams else None
        try:
            alg, answers, todo, items, run = self._batch_prepare(msg, batch)
            if todo:
                try:
                    outcome = alg.call_batch(items, run)
                except (Exception, Cancelled) as e:
                    outcome = e
                self._batch_finish(msg, answers, todo, outcome)
            return answers
        finally:
            if token is not None:
                _CURRENT.reset(token)
            self._done(batch)

    def run_job(self, msg, job):
        """Run one job of a synchronous handler; return its result or error
        message."""
        token = _CURRENT.set(job) if self.streams else None
        try:
            return self._answer(msg, job, lambda alg: alg.call(msg["input"], job))
        finally:
            if token is not None:
                _CURRENT.reset(token)
            self._done(job)

    async def run_async(self, msg, job, alg):
        """Run one job (or batch) of an async handler on the event loop and
        send its result or error message (one for each job of a batch)."""
        _CURRENT.set(job)  # the task's own context: no reset needed
        with self.lock:
            for jid in job._ids():
                self.tasks[jid] = asyncio.current_task()
        if job.cancelled:  # canceled before the task existed
            asyncio.current_task().cancel()
        if msg["type"] == "batch":
            return await self._run_async_batch(msg, job)
        try:
            out = await alg.call_async(msg["input"], job)
            answer = self._answer(msg, job, lambda alg: out)
        except asyncio.CancelledError:
            answer = _error(job.id, "canceled", "the job was canceled")
        except (Exception, Cancelled) as e:
            answer = self._answer(msg, job, _raiser(e))
        finally:
            with self.lock:
                self.tasks.pop(job.id, None)
            self._done(job)
        self.conn.send(answer)
        self.slots.release()

    async def _run_async_batch(self, msg, batch):
        try:
            alg, answers, todo, items, run = self._batch_prepare(msg, batch)
            if todo:
                try:
                    outcome = await alg.call_batch_async(items, run)
                except asyncio.CancelledError:
                    outcome = Cancelled(batch._ids())
                except (Exception, Cancelled) as e:
                    outcome = e
                self._batch_finish(msg, answers, todo, outcome)
        finally:
            with self.lock:
                for jid in batch._ids():
                    self.tasks.pop(jid, None)
            self._done(batch)
        self.send_all(answers)
        self.slots.release()

    def _batch_prepare(self, msg, batch):
        """Bind the inputs of the batch msg. Returns its algorithm; a list
        with an answer per job, set for the jobs that fail before the
        handler runs (an input that does not convert to the handler's item
        type, an algorithm that is not a batch one), None for the others;
        the indexes of the others (todo), their converted inputs, and the
        Batch of their jobs for the handler."""
        ids = [j["id"] for j in msg["jobs"]]
        alg = self.algs.get(msg["algorithm"])
        if alg is None or alg.batch is None:
            why = ("this worker does not serve %r (it serves %s)" % (msg["algorithm"], ", ".join(self.algs)) if alg is None
                   else "%s does not run in batches: send it job messages" % alg.name)
            return alg, [_error(jid, "unknown_algorithm", why) for jid in ids], [], [], batch
        items, errs = alg.bind_batch([j["input"] for j in msg["jobs"]])
        answers = [None] * len(ids)
        for i, e in enumerate(errs):
            if e is not None:
                detail = "\n".join("at %s: %s" % (p or "/", m) for p, m in e.errors)
                answers[i] = _error(ids[i], "invalid_input", "input does not match the item type of %s: %s" % (alg.name, e), detail)
        todo = [i for i, e in enumerate(errs) if e is None]
        run = batch if len(todo) == len(ids) else Batch([batch.jobs[i] for i in todo], batch.algorithm)
        return alg, answers, todo, items, run

    @staticmethod
    def _batch_finish(msg, answers, todo, outcome):
        """Set the answers of the jobs todo from outcome: the handler's
        checked outputs, one per job, or the exception that fails them
        all."""
        ids = [msg["jobs"][i]["id"] for i in todo]
        if isinstance(outcome, BatchLengthError):
            outs = [_error(jid, "batch_length", str(outcome)) for jid in ids]
        elif isinstance(outcome, Cancelled):
            outs = [_error(jid, "canceled", "the job was canceled") for jid in ids]
        elif isinstance(outcome, BaseException):
            e = outcome
            outs = [_error(jid, type(e).__name__, str(e) or type(e).__name__, _traceback(e), retryable=isinstance(e, RetryableError)) for jid in ids]
        else:
            outs = [_answer_of(jid, out) for jid, out in zip(ids, outcome)]
        for i, a in zip(todo, outs):
            answers[i] = a

    def _done(self, job):
        with self.lock:
            for jid in job._ids():
                self.running.pop(jid, None)
        for s in self.streams:
            s.end(job)
        if not self.streams:
            _flush_stdio()  # the runner reads the pipes up to here into this job's log

    def _answer(self, msg, job, call):
        """Return the result or error message of the job msg, whose output
        call(alg) computes."""
        jid = msg["id"]
        try:
            alg = self.algs.get(msg["algorithm"])
            if alg is None:
                return _error(jid, "unknown_algorithm", "this worker does not serve %r (it serves %s)" % (msg["algorithm"], ", ".join(self.algs)))
            if alg.batch is not None:
                return _error(jid, "unknown_algorithm", "%s runs in batches: send its jobs in batch messages" % alg.name)
            out = call(alg)
            if isinstance(out, Routed):
                result = {"type": "result", "id": jid, "output": out.output}
                if out.final:
                    result["final"] = True
                if out.next:
                    result["next"] = out.next
                return result
            return {"type": "result", "id": jid, "output": out}
        except ValidationError as e:
            detail = "\n".join("at %s: %s" % (p or "/", m) for p, m in e.errors)
            return _error(jid, "invalid_input", "input does not match the parameters of %s: %s" % (msg["algorithm"], e), detail)
        except Cancelled:
            return _error(jid, "canceled", "the job was canceled")
        except RetryableError as e:
            return _error(jid, type(e).__name__, str(e) or type(e).__name__, _traceback(e), retryable=True)
        except Exception as e:
            return _error(jid, type(e).__name__, str(e) or type(e).__name__, _traceback(e))


def _answer_of(jid, out):
    """Return the answer of one job of a batch, whose output is out: JSON
    data, a Routed, or an Exception that fails the job."""
    if isinstance(out, Cancelled):
        return _error(jid, "canceled", "the job was canceled")
    if isinstance(out, BaseException):
        retryable = isinstance(out, RetryableError)
        tb = _traceback(out) if out.__traceback__ is not None else ""
        return _error(jid, type(out).__name__, str(out) or type(out).__name__, tb, retryable=retryable)
    if isinstance(out, Routed):
        result = {"type": "result", "id": jid, "output": out.output}
        if out.final:
            result["final"] = True
        if out.next:
            result["next"] = out.next
        return result
    return {"type": "result", "id": jid, "output": out}


def _raiser(e):
    def call(alg):
        raise e
    return call


_SDK_DIR = os.path.dirname(os.path.abspath(__file__))


def _traceback(e):
    """Return the traceback of e without the SDK's own frames."""
    tb = e.__traceback__
    while tb is not None and os.path.dirname(os.path.abspath(tb.tb_frame.f_code.co_filename)) == _SDK_DIR:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(e), e, tb))


def _error(jid, typ, message, detail="", retryable=False):
    err = {"type": typ, "message": message}
    if detail:
        err["detail"] = detail
    return {"type": "error", "id": jid, "error": err, "retryable": retryable}


def serve(algorithms, rfd=protocol.JOBS_FD, wfd=protocol.EVENTS_FD, concurrency=None, prefetch=None):
    """Announce the algorithms and run jobs from the runner until it closes
    the jobs pipe, up to concurrency at once (default: $CONVEYOR_CONCURRENCY,
    which the runner sets from the entry's concurrency, or 1), holding up
    to prefetch more (default: $CONVEYOR_PREFETCH, or 0). Returns the
    process's exit status."""
    env = {}
    for name, var in (("concurrency", "CONVEYOR_CONCURRENCY"), ("prefetch", "CONVEYOR_PREFETCH")):
        try:
            env[name] = int(os.environ.get(var) or (1 if name == "concurrency" else 0))
        except ValueError:
            print("conveyor.worker: %s=%r is not a number" % (var, os.environ.get(var)), file=sys.stderr)
            return 2
    if concurrency is None:
        concurrency = env["concurrency"]
    if prefetch is None:
        prefetch = env["prefetch"]
    try:
        os.fstat(rfd)
        os.fstat(wfd)
    except OSError:
        print("conveyor.worker: file descriptors %d and %d are not open: a worker is started by conveyor "
              "(an algorithms entry with kind: worker), which talks to it over them" % (rfd, wfd), file=sys.stderr)
        return 2
    for f in (sys.stdout, sys.stderr):
        try:
            f.reconfigure(line_buffering=True)
        except (AttributeError, ValueError):
            pass
    return _Worker(algorithms, _Conn(rfd, wfd), concurrency, prefetch).run()
