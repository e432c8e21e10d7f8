"""Golden transcripts of the worker protocol (workerproto/testdata/*.jsonl):
loading them and replaying them against a real worker process."""

import fcntl
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SDK = os.path.dirname(HERE)
TESTDATA = os.path.normpath(os.path.join(SDK, "..", "..", "workerproto", "testdata"))
FROM_RUNNER = ("job", "batch", "cancel")
ANY = "<any>"


def load(path):
    """Return the messages of a transcript, in order, as dicts."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def transcripts():
    """Return the paths of every conversation transcript."""
    return sorted(os.path.join(TESTDATA, n) for n in os.listdir(TESTDATA)
                  if n.endswith(".jsonl") and n != "malformed.jsonl")


def matches(want, got):
    """Report whether got equals want, where the string "<any>" in want
    matches any string."""
    if want == ANY:
        return isinstance(got, str)
    if isinstance(want, dict):
        return isinstance(got, dict) and want.keys() == got.keys() and all(matches(want[k], got[k]) for k in want)
    if isinstance(want, list):
        return isinstance(got, list) and len(want) == len(got) and all(matches(a, b) for a, b in zip(want, got))
    return want == got and type(want) is type(got) or (isinstance(want, (int, float)) and isinstance(got, (int, float))
                                                       and not isinstance(got, bool) and want == got)


class Worker:
    """A `python -m conveyor.worker MODULE` process with the protocol on
    its fds 3 and 4, as conveyor starts it."""

    def __init__(self, *modules, env=None):
        jobs_r, self.jobs_w = os.pipe()
        self.events_r, events_w = os.pipe()
        # Above 9, so that moving them to 3 and 4 in the child clobbers nothing.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (jobs_r, events_w)]
        os.close(jobs_r)
        os.close(events_w)

        def fds():
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        penv = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, SDK]), **(env or {}))
        self.proc = subprocess.Popen([sys.executable, "-m", "conveyor.worker", *modules], preexec_fn=fds,
                                     pass_fds=(3, 4), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=penv)
        for fd in high:
            os.close(fd)
        self.events = os.fdopen(self.events_r, "rb")

    def send(self, msg):
        os.write(self.jobs_w, (json.dumps(msg) + "\n").encode())

    def recv(self):
        """Return the next worker → runner message, or None at EOF."""
        line = self.events.readline()
        return json.loads(line) if line else None

    def close(self):
        """Close fd 3 (the worker should exit 0) and return stdout, stderr
        and the exit status."""
        os.close(self.jobs_w)
        out, err = self.proc.communicate(timeout=20)
        self.events.close()
        return out.decode(), err.decode(), self.proc.returncode


def replay(path, module="golden_worker"):
    """Play the runner's side of the transcript at path against a real
    worker, checking every line the worker sends. Returns the worker's
    stdout; raises AssertionError on the first difference. The worker is
    started as the transcript's hello says it was: with CONVEYOR_PREFETCH
    and CONVEYOR_CONCURRENCY when it confirms them."""
    hello = load(path)[0]
    env = {var: str(hello[key]) for key, var in (("prefetch", "CONVEYOR_PREFETCH"), ("concurrency", "CONVEYOR_CONCURRENCY"))
           if key in hello}
    w = Worker(module, env=env)
    try:
        for i, want in enumerate(load(path), 1):
            if want["type"] in FROM_RUNNER:
                w.send(want)
                continue
            got = w.recv()
            if got is None or not matches(want, got):
                raise AssertionError("%s line %d:\nwant %s\ngot  %s" % (os.path.basename(path), i, json.dumps(want), json.dumps(got)))
    finally:
        out, err, code = w.close()
    if code != 0:
        raise AssertionError("worker exited %d after %s:\n%s" % (code, os.path.basename(path), err))
    return out
