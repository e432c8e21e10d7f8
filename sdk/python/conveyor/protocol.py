"""The worker protocol, version 1: JSON lines on file descriptors 3
(runner → worker) and 4 (worker → runner).

The specification is workerproto/PROTOCOL.md in the Conveyor repository;
this module encodes and decodes its lines.
"""

import json
import math
import re

__all__ = ["VERSION", "JOBS_FD", "EVENTS_FD", "ProtocolError", "encode", "decode"]

VERSION = 1
JOBS_FD = 3  # runner → worker
EVENTS_FD = 4  # worker → runner
MAX_LINE = 16 << 20

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
TYPES = ("hello", "job", "batch", "cancel", "progress", "log", "result", "error")


class ProtocolError(ValueError):
    """A line is not a valid protocol message. ``unknown`` is set when it is
    well formed but of a type this version does not know."""

    def __init__(self, reason, line=b"", unknown=False):
        self.reason = reason
        self.unknown = unknown
        text = line[:200].decode("utf-8", "replace") if isinstance(line, (bytes, bytearray)) else str(line)[:200]
        super().__init__("malformed protocol line: %s: %r" % (reason, text))


def encode(msg):
    """Return msg (a dict with a "type") as one line of UTF-8 bytes,
    newline included. Raises ValueError for NaN or infinite numbers."""
    return (json.dumps(msg, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n").encode("utf-8")


def _reject_constant(name):
    raise ValueError("%s is not valid JSON" % name)


def decode(line):
    """Return the message of one line (bytes or str) as a dict. Raises
    ProtocolError when the line is not a JSON object with a known "type"
    and the fields that type requires; unknown fields are kept."""
    raw = line
    if isinstance(line, (bytes, bytearray)):
        line = bytes(line).decode("utf-8", "replace")
    line = line.strip()
    if not line.startswith("{"):
        raise ProtocolError("not a JSON object", raw)
    try:
        msg = json.loads(line, parse_constant=_reject_constant)
    except ValueError as e:
        raise ProtocolError("invalid JSON: %s" % e, raw) from None
    if not isinstance(msg, dict):
        raise ProtocolError("not a JSON object", raw)
    typ = msg.get("type")
    if not isinstance(typ, str):
        raise ProtocolError('no "type"', raw)
    if typ not in TYPES:
        raise ProtocolError("unknown message type %r" % typ, raw, unknown=True)
    reason = _check(typ, msg)
    if reason:
        raise ProtocolError("%s: %s" % (typ, reason), raw)
    return msg


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool) or isinstance(v, float) and v.is_integer()


def _seconds(v):
    """Report whether v is absent or a number of seconds, not negative."""
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0)


def _check(typ, m):
    def string(key, required=True):
        v = m.get(key)
        if v is None:
            return '"%s" is required' % key if required else ""
        if not isinstance(v, str):
            return 'field "%s" must be a string' % key
        if required and not v:
            return '"%s" is required' % key
        return ""

    if typ == "hello":
        p = m.get("protocol")
        if not _is_int(p) or p < 1:
            return '"protocol" must be a positive integer'
        c = m.get("concurrency")
        if c is not None and (not _is_int(c) or c < 0):
            return '"concurrency" must be a positive integer'
        p = m.get("prefetch")
        if p is not None and (not _is_int(p) or p < 0):
            return '"prefetch" must not be negative'
        algs = m.get("algorithms")
        if not isinstance(algs, list) or not algs:
            return '"algorithms" must list at least one algorithm'
        seen = set()
        for i, a in enumerate(algs):
            if not isinstance(a, dict) or not isinstance(a.get("name"), str) or not _NAME.match(a["name"]):
                return "algorithms[%d]: invalid algorithm name" % i
            if a["name"] in seen:
                return "algorithms[%d]: %s is announced twice" % (i, a["name"])
            seen.add(a["name"])
            b = a.get("batch")
            if b is not None and (not isinstance(b, dict) or not _is_int(b.get("max_size")) or b["max_size"] < 1
                                  or isinstance(b.get("max_wait"), bool) or not isinstance(b.get("max_wait"), (int, float))
                                  or b["max_wait"] < 0):
                return ('algorithms[%d] (%s): batch: "max_size" must be a positive integer and "max_wait" a number of '
                        'seconds, not negative' % (i, a["name"]))
            for key in ("input_schema", "output_schema"):
                if key in a and a[key] is not None and not isinstance(a[key], (dict, bool)):
                    return "algorithms[%d] (%s): %s must be a JSON object or boolean" % (i, a["name"], key)
        return ""
    if typ == "job":
        r = string("id") or string("algorithm")
        if r:
            return r
        if "input" not in m:
            return '"input" is required'
        a = m.get("attempt", 0)
        if a is not None and (not _is_int(a) or a < 0):
            return '"attempt" must not be negative'
        if not _seconds(m.get("timeout")):
            return '"timeout" must be a number of seconds, not negative'
        return string("deadline", required=False) or string("traceparent", required=False)
    if typ == "batch":
        r = string("algorithm")
        if r:
            return r
        jobs = m.get("jobs")
        if not isinstance(jobs, list) or not jobs:
            return '"jobs" must list at least one job'
        for i, j in enumerate(jobs):
            if not isinstance(j, dict):
                return "jobs[%d]: not an object" % i
            if not isinstance(j.get("id"), str) or not j["id"]:
                return 'jobs[%d]: "id" is required' % i
            if "input" not in j:
                return 'jobs[%d]: "input" is required' % i
            a = j.get("attempt", 0)
            if a is not None and (not _is_int(a) or a < 0):
                return 'jobs[%d]: "attempt" must not be negative' % i
            if not _seconds(j.get("timeout")):
                return 'jobs[%d]: "timeout" must be a number of seconds, not negative' % i
            for key in ("deadline", "traceparent"):
                if j.get(key) is not None and not isinstance(j[key], str):
                    return 'jobs[%d]: field "%s" must be a string' % (i, key)
        return ""
    if typ in ("cancel", "result", "error"):
        r = string("id")
        if r:
            return r
        if typ == "result" and "output" not in m:
            return '"output" is required (null is a valid output)'
        if typ == "result" and m.get("final") and m.get("next"):
            return '"final" and "next" exclude each other'
        if typ == "error" and m.get("error") is not None and not isinstance(m["error"], dict):
            return 'field "error" must be an object'
        return ""
    if typ == "progress":
        r = string("id") or string("message", required=False)
        if r:
            return r
        p = m.get("percent")
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not (0 <= p <= 100) or math.isnan(p):
            return '"percent" must be between 0 and 100, not %r' % (p,)
        return ""
    if typ == "log":
        return (string("id", required=False) or string("level", required=False) or string("message", required=False)
                or string("stream", required=False))
    return ""
