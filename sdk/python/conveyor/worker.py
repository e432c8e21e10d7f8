"""Serve Python functions as Conveyor algorithms::

    python3 -m conveyor.worker MODULE [MODULE ...]

imports each module (by name, as ``import`` would: the current directory
and PYTHONPATH are searched) and serves every ``run_<name>`` function and
every function marked with ``@conveyor.algorithm``. Conveyor starts this
command for a config entry of ``kind: worker``; it talks to it over file
descriptors 3 and 4 (see workerproto/PROTOCOL.md), so stdout and stderr
stay free for the handlers' prints, which become job logs.

``--describe`` prints the hello message (the algorithms and their
schemas) as JSON to stdout and exits: a quick check of what conveyor
will publish.
"""

import importlib
import json
import sys
import traceback

__all__ = ["main"]

USAGE = "usage: python3 -m conveyor.worker [--describe] MODULE [MODULE ...]"


def main(argv=None):
    """Run the worker with argv (default sys.argv[1:]); return its exit
    status."""
    from conveyor import protocol
    from conveyor._serve import serve
    from conveyor.registry import discover

    args = list(sys.argv[1:] if argv is None else argv)
    describe = "--describe" in args
    args = [a for a in args if a != "--describe"]
    if not args or any(a.startswith("-") for a in args):
        print(USAGE, file=sys.stderr)
        return 2
    if "" not in sys.path:
        sys.path.insert(0, "")  # as python3 -m does: modules in the working directory
    try:
        modules = [importlib.import_module(name) for name in args]
        algorithms = discover(modules)
    except Exception:
        print("conveyor.worker: cannot load the algorithms of %s:" % " ".join(args), file=sys.stderr)
        traceback.print_exc()
        return 1
    if describe:
        hello = {"type": "hello", "protocol": protocol.VERSION, "algorithms": [a.announce() for a in algorithms]}
        print(json.dumps(hello, indent=2))
        return 0
    return serve(algorithms)


if __name__ == "__main__":
    sys.exit(main())
