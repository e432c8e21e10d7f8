"""Finding algorithms in modules, and calling them with a job's input.

An algorithm is a function named ``run_<name>``, or any function marked
with ``@conveyor.algorithm``. Its parameters are the properties of its
input object (``def run_word_count(text: str, top: int = 10)`` takes
``{"text": "…", "top": 3}``); their type hints make the input schema,
their defaults make them optional, the return hint makes the output
schema and the docstring the descriptions.
"""

import asyncio
import collections.abc
import dataclasses
import inspect
import re
import types
import typing

from .docstrings import parse_docstring
from .job import Job
from .route import Routed
from .schema import convert_object, object_schema, schema_of, to_json, ValidationError, _hints

__all__ = ["algorithm", "Algorithm", "discover"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_MARK = "__conveyor_algorithm__"


def algorithm(func=None, *, name=None, description=None):
    """Mark func as an algorithm, named name (default: the function's name
    without a ``run_`` prefix), described by description (default: its
    docstring). Use as ``@algorithm`` or ``@algorithm(name="x")``."""

    def mark(f):
        setattr(f, _MARK, {"name": name, "description": description})
        return f

    return mark(func) if func is not None else mark


class Algorithm:
    """One algorithm: a handler function and what was derived from it."""

    def __init__(self, func, name=None, description=None):
        self.func = func
        fname = func.__name__
        self.name = name or (fname[4:] if fname.startswith("run_") else fname)
        if not _NAME.match(self.name):
            raise TypeError("%s: algorithm name %r is invalid: want ^[a-z][a-z0-9_]{0,62}$" % (fname, self.name))
        doc = parse_docstring(func.__doc__)
        self.description = description if description is not None else doc.summary
        hints = _hints(func)
        sig = inspect.signature(func)
        self.job_param = None
        self.fields = []
        self.extra = False
        for p in sig.parameters.values():
            hint = hints.get(p.name, inspect.Parameter.empty)
            if _is_job(hint) or (p.name == "job" and hint is inspect.Parameter.empty):
                self.job_param = p.name
                continue
            if p.kind is p.VAR_KEYWORD:
                self.extra = True
                continue
            if p.kind in (p.VAR_POSITIONAL, p.POSITIONAL_ONLY):
                raise TypeError("%s: parameter %s: the input is passed by keyword; *args and positional-only parameters cannot take it" % (fname, p.name))
            has_default = p.default is not p.empty
            self.fields.append((p.name, hint, has_default, p.default if has_default else dataclasses.MISSING, doc.params.get(p.name, "")))
        try:
            self.input_schema = object_schema(self.fields, additional=self.extra)
            ret = sig.return_annotation
            if inspect.isasyncgenfunction(func):
                raise TypeError("an async generator cannot return an output: write an async def that reports "
                                "progress with job.progress(...) and returns its output")
            self.is_async = inspect.iscoroutinefunction(func)
            self.is_generator = inspect.isgeneratorfunction(func)
            if self.is_generator:
                ret = _generator_return(hints.get("return", ret))
            else:
                ret = hints.get("return", ret)
            self.return_hint = ret
            self.output_schema = None if ret is inspect.Signature.empty or ret is Routed else schema_of(ret)
        except TypeError as e:
            raise TypeError("%s: %s" % (fname, e)) from None

    def announce(self):
        """Return the algorithm as the hello message lists it."""
        out = {"name": self.name}
        if self.description:
            out["description"] = self.description
        out["input_schema"] = self.input_schema
        if self.output_schema is not None:
            out["output_schema"] = self.output_schema
        return out

    def bind(self, value):
        """Return the keyword arguments for the input value, converted to
        the parameters' types. Raises ValidationError."""
        errors = []
        kwargs = convert_object(value, self.fields, "", errors, additional=self.extra)
        if errors:
            raise ValidationError(errors)
        return kwargs

    def call(self, value, job):
        """Run the handler on the input value and return its output as
        JSON data. A generator handler's yields are progress: a number, or
        a (number, message) pair; its return value is the output."""
        if self.is_async:  # outside a worker's event loop: a loop of its own
            return asyncio.run(self.call_async(value, job))
        kwargs = self.bind(value)
        if self.job_param:
            kwargs[self.job_param] = job
        if not self.is_generator:
            return _output(self.func(**kwargs))
        gen = self.func(**kwargs)
        try:
            while True:
                job.check()
                step = next(gen)
                if isinstance(step, tuple):
                    job.progress(*step)
                elif step is not None:
                    job.progress(step)
        except StopIteration as stop:
            return _output(stop.value)
        finally:
            gen.close()


    async def call_async(self, value, job):
        """Await the async handler on the input value and return its output
        as JSON data."""
        kwargs = self.bind(value)
        if self.job_param:
            kwargs[self.job_param] = job
        return _output(await self.func(**kwargs))


def _output(value):
    """Return value as JSON data, or a Routed with JSON data as output."""
    if isinstance(value, Routed):
        return Routed(to_json(value.output), final=value.final, next=value.next)
    return to_json(value)


def _is_job(hint):
    """Report whether hint is Job or Optional[Job]."""
    return hint is Job or (typing.get_origin(hint) is typing.Union and Job in typing.get_args(hint))


def _generator_return(hint):
    """Return R of Generator[Y, S, R]; the empty annotation otherwise."""
    if typing.get_origin(hint) in (typing.Generator, collections.abc.Generator):
        args = typing.get_args(hint)
        if len(args) == 3:
            return args[2]
    return inspect.Signature.empty


def discover(modules):
    """Return the algorithms of the given modules, in definition order:
    every ``run_<name>`` function and every function marked with
    ``@algorithm``. Raises TypeError when two have the same name or a
    handler's hints cannot make a schema, and LookupError when there are
    none."""
    found, names = [], {}
    for mod in modules:
        for attr, obj in vars(mod).items():
            if not isinstance(obj, types.FunctionType):
                continue
            mark = getattr(obj, _MARK, None)
            if mark is None and not attr.startswith("run_"):
                continue
            alg = Algorithm(obj, **(mark or {}))
            if alg.name in names:
                if names[alg.name] is obj:
                    continue
                raise TypeError("algorithm %s is defined twice: by %s and %s" % (alg.name, _where(names[alg.name]), _where(obj)))
            names[alg.name] = obj
            found.append(alg)
    if not found:
        raise LookupError("no algorithms in %s: define run_<name> functions or mark functions with @conveyor.algorithm"
                          % ", ".join(m.__name__ for m in modules))
    return found


def _where(f):
    return "%s.%s" % (f.__module__, f.__qualname__)
