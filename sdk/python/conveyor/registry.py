"""Finding algorithms in modules, and calling them with a job's input.

An algorithm is a function named ``run_<name>``, or any function marked
with ``@conveyor.algorithm`` or ``@conveyor.batch``. Its parameters are the properties of its
input object (``def run_word_count(text: str, top: int = 10)`` takes
``{"text": "…", "top": 3}``); their type hints make the input schema,
their defaults make them optional, the return hint makes the output
schema and the docstring the descriptions.

A batch algorithm (``@conveyor.batch``) takes ``list[T]``, the inputs of
up to ``max_size`` jobs, and returns a list of as many outputs: each job's
input schema is ``T``'s.
"""

import asyncio
import collections.abc
import numbers
import dataclasses
import inspect
import re
import types
import typing

from .artifacts import artifact_schema, store_outputs
from .docstrings import parse_docstring
from .files import File
from .job import Batch, Job
from .route import Routed
from .schema import convert, convert_object, object_schema, schema_of, to_json, ValidationError, _hints

__all__ = ["algorithm", "batch", "Algorithm", "BatchLengthError", "discover"]

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


def batch(func=None, *, max_size=32, max_wait=0.01, name=None, description=None):
    """Mark func as an algorithm whose jobs run in batches.

    func takes a list of inputs, ``list[T]``, and returns a list of as many
    outputs, in the same order: the runner hands it up to max_size queued
    jobs at once, waiting at most max_wait seconds after the first for
    more. Each job's input schema is T's; each job keeps its own id,
    status, output, attempts and logs. An exception fails every job of the
    batch (each retried on its own, if it is a RetryableError); an
    Exception returned in place of an output fails just that job. func may
    also take a parameter annotated ``conveyor.Batch`` (or named ``job``
    or ``batch``) to report progress and logs to the jobs of the batch.

    Use as ``@batch`` or ``@batch(max_size=64, max_wait=0.005)``; name and
    description are as for ``@algorithm``. Raises TypeError when max_size
    is not a positive integer or max_wait not a number of seconds ≥ 0."""
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
        raise TypeError("@conveyor.batch: max_size must be a positive integer, not %r" % (max_size,))
    if isinstance(max_wait, bool) or not isinstance(max_wait, numbers.Real) or not max_wait >= 0 or max_wait == float("inf"):
        raise TypeError("@conveyor.batch: max_wait must be a number of seconds, 0 or more, not %r" % (max_wait,))

    def mark(f):
        setattr(f, _MARK, {"name": name, "description": description, "batch": (max_size, float(max_wait))})
        return f

    return mark(func) if func is not None else mark


class BatchLengthError(Exception):
    """A batch handler returned a number of outputs other than the number
    of inputs it was given (or something that is not a list). It fails
    every job of the batch."""


class Algorithm:
    """One algorithm: a handler function and what was derived from it."""

    def __init__(self, func, name=None, description=None, batch=None):
        self.func = func
        self.batch = batch  # (max_size, max_wait) of a batch algorithm, else None
        fname = func.__name__
        self.name = name or (fname[4:] if fname.startswith("run_") else fname)
        if not _NAME.match(self.name):
            raise TypeError("%s: algorithm name %r is invalid: want ^[a-z][a-z0-9_]{0,62}$" % (fname, self.name))
        doc = parse_docstring(func.__doc__)
        self.description = description if description is not None else doc.summary
        hints = _hints(func)
        sig = inspect.signature(func)
        if batch is not None:
            self._init_batch(fname, sig, hints)
            return
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
            if ret in (bytes, bytearray, File):  # stored as an artifact; the output references it
                self.output_schema = artifact_schema()
            else:
                self.output_schema = None if ret is inspect.Signature.empty or ret is Routed else schema_of(ret)
        except TypeError as e:
            raise TypeError("%s: %s" % (fname, e)) from None

    def _init_batch(self, fname, sig, hints):
        """Derive a batch algorithm's schemas from its list parameter and
        its return hint."""
        self.job_param, self.items_param, item = None, None, None
        self.fields, self.extra = [], False
        others = []
        for p in sig.parameters.values():
            hint = hints.get(p.name, inspect.Parameter.empty)
            if hint is Batch or _is_job(hint) or (p.name in ("job", "batch") and hint is inspect.Parameter.empty):
                self.job_param = p.name
                continue
            listed = _list_item(hint)
            if self.items_param is None and listed is not None and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                self.items_param, item = p.name, listed
                continue
            others.append(p)
        if self.items_param is None:
            raise TypeError("%s: @conveyor.batch needs a function that takes a list of inputs, annotated list[T] "
                            "(for example def embed(texts: list[str]) -> list[list[float]]): %s has no list parameter"
                            % (fname, fname))
        for p in others:
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError("%s: @conveyor.batch: parameter %s has no default: a batch handler takes one list of "
                                "inputs (list[T]), and optionally a conveyor.Batch" % (fname, p.name))
        if inspect.isasyncgenfunction(self.func) or inspect.isgeneratorfunction(self.func):
            raise TypeError("%s: @conveyor.batch: a generator cannot be a batch handler: return the list of outputs" % fname)
        self.item_hint = item
        self.is_async = inspect.iscoroutinefunction(self.func)
        self.is_generator = False
        ret = hints.get("return", sig.return_annotation)
        out_item = _list_item(ret)
        if ret is not inspect.Signature.empty and out_item is None:
            raise TypeError("%s: @conveyor.batch: the return hint must be a list (list[R], one output per input), not %r"
                            % (fname, ret))
        self.return_hint = ret
        try:
            self.input_schema = schema_of(item)
            if out_item is None or out_item is typing.Any:
                self.output_schema = None
            else:
                self.output_schema = schema_of(_drop_exception(out_item))
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
        if self.batch is not None:
            out["batch"] = {"max_size": self.batch[0], "max_wait": self.batch[1]}
        return out

    def bind_batch(self, values):
        """Convert each input of a batch to the list parameter's item
        type. Returns the converted inputs and, aligned with values, a
        ValidationError for each input that does not convert (else
        None)."""
        items, errs = [], []
        for v in values:
            try:
                items.append(convert(v, self.item_hint))
                errs.append(None)
            except ValidationError as e:
                errs.append(e)
        return items, errs

    def call_batch(self, items, batch):
        """Run the batch handler on the converted inputs and return its
        outputs, checked (see _batch_outputs). An async handler runs on a
        loop of its own."""
        if self.is_async:
            return asyncio.run(self.call_batch_async(items, batch))
        return self._batch_outputs(self.func(**self._batch_kwargs(items, batch)), len(items))

    async def call_batch_async(self, items, batch):
        """Await the async batch handler on the converted inputs and return
        its outputs, checked."""
        return self._batch_outputs(await self.func(**self._batch_kwargs(items, batch)), len(items))

    def _batch_kwargs(self, items, batch):
        kwargs = {self.items_param: items}
        if self.job_param:
            kwargs[self.job_param] = batch
        return kwargs

    def _batch_outputs(self, outs, n):
        """Return outs, a handler's list of outputs for n inputs, each as
        JSON data or the Exception it holds for its job. Raises
        BatchLengthError when outs is not a list of n."""
        if isinstance(outs, (str, bytes, dict)) or not isinstance(outs, collections.abc.Sequence):
            raise BatchLengthError("%s returned %s, not a list of %d outputs (a batch handler returns one output, or an "
                                   "Exception, per input)" % (self.name, type(outs).__name__, n))
        if len(outs) != n:
            raise BatchLengthError("%s returned %d outputs for a batch of %d inputs (a batch handler returns one output, "
                                   "or an Exception, per input)" % (self.name, len(outs), n))
        result = []
        for out in outs:
            if isinstance(out, BaseException):
                result.append(out)
                continue
            try:
                result.append(_output(out))
            except Exception as e:  # this output alone is not JSON data
                result.append(e)
        return result

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
            return _output(self.func(**kwargs), job)
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
            return _output(stop.value, job)
        finally:
            gen.close()


    async def call_async(self, value, job):
        """Await the async handler on the input value and return its output
        as JSON data."""
        kwargs = self.bind(value)
        if self.job_param:
            kwargs[self.job_param] = job
        return _output(await self.func(**kwargs), job)


def _output(value, job=None):
    """Return value as JSON data, or a Routed with JSON data as output.
    With the job, returned bytes and local files become its artifacts
    (see store_outputs)."""
    if isinstance(value, Routed):
        out = value.output if job is None else store_outputs(value.output, job)
        return Routed(to_json(out), final=value.final, next=value.next)
    return to_json(value if job is None else store_outputs(value, job))


def _list_item(hint):
    """Return T of a list[T] (or List[T], Sequence[T]) hint, Any of a bare
    list, or None when hint is not a list."""
    if hint is list or hint is typing.List:
        return typing.Any
    if typing.get_origin(hint) in (list, collections.abc.Sequence, collections.abc.MutableSequence):
        args = typing.get_args(hint)
        return args[0] if args else typing.Any
    return None


def _drop_exception(hint):
    """Return hint without Exception members: list[R | Exception] declares
    outputs of type R, some of which may be replaced by an Exception."""
    args = typing.get_args(hint) if typing.get_origin(hint) is typing.Union or type(hint).__name__ == "UnionType" else ()
    if not args:
        return hint
    kept = [a for a in args if not (isinstance(a, type) and issubclass(a, BaseException))]
    if len(kept) == len(args):
        return hint
    if not kept:
        return typing.Any
    return typing.Union[tuple(kept)] if len(kept) > 1 else kept[0]


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
