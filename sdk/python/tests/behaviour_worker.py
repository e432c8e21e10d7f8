"""Algorithms for the worker process tests."""

import os
import subprocess
import sys

import conveyor


def run_child_fds() -> dict:
    """Returns what the worker's fds 3 and 4 are, and what a subprocess of
    the handler has open."""
    code = ("import os\nfor f in os.listdir('/proc/self/fd'):\n"
            "    try: print(os.readlink('/proc/self/fd/' + f))\n"
            "    except OSError: pass\n")
    out = subprocess.run([sys.executable, "-c", code], close_fds=False, capture_output=True, text=True, check=True)
    return {"protocol": [os.readlink("/proc/self/fd/%d" % fd) for fd in (3, 4)], "child": out.stdout.splitlines()}


def run_noisy() -> str:
    """Writes to stdout and stderr, from Python and from a subprocess."""
    print("from print")
    print("to stderr", file=sys.stderr)
    os.system("echo from a subprocess")
    return "done"


def run_route(mode: str = "final") -> conveyor.Routed:
    """A pipeline stage that steers its job: ends it, or names the next stage."""
    if mode == "final":
        return conveyor.final({"done": True})
    return conveyor.next_stage("narrate", {"text": "on"})
