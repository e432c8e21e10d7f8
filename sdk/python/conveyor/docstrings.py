"""Docstrings to descriptions: the text of a function or class, and one
description per parameter (or field).

Understands the three common styles::

    Google:   Args:                 reST:   :param text: the text
                  text: the text
    NumPy:    Parameters
              ----------
              text : str
                  the text
"""

import inspect
import re

__all__ = ["Docstring", "parse_docstring"]

_SECTIONS = {
    "args", "arguments", "parameters", "params", "attributes", "fields",
    "returns", "return", "yields", "raises", "examples", "example", "notes", "note",
    "see also", "references", "warnings", "warning", "other parameters",
}
_PARAM_SECTIONS = {"args", "arguments", "parameters", "params", "attributes", "fields", "other parameters"}
_REST_PARAM = re.compile(r"^:(?:param|parameter|arg|argument|ivar|var)\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_GOOGLE_ITEM = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_ITEM = re.compile(r"^(\w+)\s*(?::.*)?$")


class Docstring:
    """A parsed docstring: summary is the text before the first section,
    params maps parameter names to their descriptions."""

    def __init__(self, summary="", params=None):
        self.summary = summary
        self.params = params or {}


def _header(line, next_line):
    """Return the section a line starts, or None."""
    s = line.strip()
    if s.endswith(":") and s[:-1].strip().lower() in _SECTIONS:
        return s[:-1].strip().lower()
    if s.lower() in _SECTIONS and next_line is not None and set(next_line.strip()) == {"-"}:
        return s.lower()
    return None


def parse_docstring(doc):
    """Return the Docstring of doc (which may be None)."""
    if not doc:
        return Docstring()
    lines = inspect.cleandoc(doc).splitlines()
    summary, params = [], {}
    section, current, base, numpy = None, None, 0, False
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        head = _header(line, nxt)
        if head is not None:
            numpy = nxt is not None and set(nxt.strip()) == {"-"}
            section, current = head, None
            i += 2 if numpy else 1
            continue
        m = _REST_PARAM.match(stripped)
        if m:
            section, current = "rest", m.group(1)
            params[current] = m.group(2).strip()
        elif section == "rest":
            if not stripped or stripped.startswith(":"):
                current = None
            elif current is not None:
                params[current] += " " + stripped
        elif section is None:
            summary.append(line)
        elif section in _PARAM_SECTIONS and stripped:
            indent = len(line) - len(line.lstrip())
            item = (_NUMPY_ITEM if numpy else _GOOGLE_ITEM).match(stripped)
            if item and (current is None or indent <= base):
                current, base = item.group(1).lstrip("*"), indent
                params[current] = "" if numpy else item.group(2).strip()
            elif current is not None:
                params[current] = (params[current] + " " + stripped).strip()
        i += 1
    text = "\n".join(summary).strip()
    text = re.sub(r"\n{3,}", "\n\n", text)
    return Docstring(text, params)
