"""The worker's main loop: hello, then one job at a time until fd 3 ends."""

import datetime
import os
import queue
import re
import sys
import threading
import traceback

from . import protocol
from .job import Cancelled, Job, RetryableError
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
        data = protocol.encode(msg)
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


class _Worker:
    def __init__(self, algorithms, conn):
        self.algs = {a.name: a for a in algorithms}
        self.conn = conn
        self.jobs = queue.Queue()
        self.lock = threading.Lock()
        self.current = None  # the Job running now

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
                    self.jobs.put(msg)
                elif msg["type"] == "cancel":
                    with self.lock:
                        if self.current is not None and self.current.id == msg["id"]:
                            self.current._set_cancelled()
                else:
                    print("conveyor.worker: ignoring a %r message from the runner" % msg["type"], file=sys.stderr, flush=True)
        finally:
            self.jobs.put(None)

    def run(self):
        self.conn.send({"type": "hello", "protocol": protocol.VERSION, "algorithms": [a.announce() for a in self.algs.values()]})
        reader = threading.Thread(target=self.read_loop, name="conveyor-reader", daemon=True)
        reader.start()
        while True:
            msg = self.jobs.get()
            if msg is None:
                return 0
            self.conn.send(self.run_job(msg))

    def run_job(self, msg):
        """Run one job; return its result or error message."""
        jid = msg["id"]
        job = Job(jid, msg["algorithm"], int(msg.get("attempt") or 1), _deadline(msg.get("deadline")), self.conn.send)
        with self.lock:
            self.current = job
        try:
            alg = self.algs.get(msg["algorithm"])
            if alg is None:
                return _error(jid, "unknown_algorithm", "this worker does not serve %r (it serves %s)" % (msg["algorithm"], ", ".join(self.algs)))
            out = alg.call(msg["input"], job)
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
        finally:
            with self.lock:
                self.current = None
            _flush_stdio()


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


def serve(algorithms, rfd=protocol.JOBS_FD, wfd=protocol.EVENTS_FD):
    """Announce the algorithms and run jobs from the runner until it closes
    the jobs pipe. Returns the process's exit status."""
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
    return _Worker(algorithms, _Conn(rfd, wfd)).run()
