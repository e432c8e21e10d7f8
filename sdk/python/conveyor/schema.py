"""Type hints to JSON Schema, and JSON values back into typed Python values.

``schema_of(tp)`` derives the JSON Schema (draft 2020-12) of a type hint;
``convert(value, tp)`` checks a decoded JSON value against the same hint
and returns it converted (dataclass instances, enum members), or raises
``ValidationError`` listing every violation with its JSON pointer.

Supported: ``int``, ``float``, ``str``, ``bool``, ``None``, ``list[T]``,
``dict[str, T]``, ``Optional[T]`` / ``T | None``, other unions,
``Literal[...]``, ``Enum`` subclasses, dataclasses, ``TypedDict`` and any
nesting of them; ``Any`` (or no annotation) accepts anything. Where
pydantic (version 2) is installed, its ``BaseModel`` subclasses too: their
schema is their ``model_json_schema()``, inputs go through
``model_validate`` and outputs through ``model_dump(mode="json")``. This
module never imports pydantic: it recognises models by those methods.
"""

import dataclasses
import enum
import inspect
import json
import math
import sys
import types
import typing

from .docstrings import parse_docstring
from .files import FILE_KEY, File, file_schema

__all__ = ["ValidationError", "schema_of", "convert", "to_json"]

NoneType = type(None)
_UnionType = getattr(types, "UnionType", None)  # X | Y, 3.10+


class ValidationError(ValueError):
    """An input does not match the parameters' types.

    ``errors`` lists ``(pointer, message)`` pairs, ``pointer`` being the
    RFC 6901 JSON pointer of the offending value ("" for the whole input).
    """

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("; ".join("at %s: %s" % (p or "/", m) for p, m in self.errors))


def _is_typeddict(tp):
    check = getattr(typing, "is_typeddict", None)
    if check is not None:
        return check(tp)
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__total__")


def _is_enum(tp):
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


def _union_args(tp):
    origin = typing.get_origin(tp)
    if origin is typing.Union or (_UnionType is not None and origin is _UnionType):
        return typing.get_args(tp)
    return None


def _own_doc(obj, generated=None):
    """Return obj's own docstring, not an inherited or generated one."""
    doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else obj.__doc__
    if not doc or (generated and doc.startswith(generated)):
        return ""
    return doc


def _hints(obj):
    try:
        return typing.get_type_hints(obj)
    except Exception as e:  # unresolvable forward reference
        raise TypeError("cannot resolve the type hints of %r: %s" % (obj, e)) from e


def _fields(tp):
    """Return [(name, hint, has_default, default, description)] of a
    dataclass or TypedDict, and its description."""
    hints = _hints(tp)
    if dataclasses.is_dataclass(tp):
        doc = parse_docstring(_own_doc(tp, generated=tp.__name__ + "("))
        out = []
        for f in dataclasses.fields(tp):
            if not f.init:
                continue
            has = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            default = f.default if f.default is not dataclasses.MISSING else dataclasses.MISSING
            desc = f.metadata.get("description") or doc.params.get(f.name, "")
            out.append((f.name, hints.get(f.name, typing.Any), has, default, desc))
        return out, doc.summary
    doc = parse_docstring(_own_doc(tp))
    required = getattr(tp, "__required_keys__", set(hints))
    return [(n, h, n not in required, dataclasses.MISSING, doc.params.get(n, "")) for n, h in hints.items()], doc.summary


def object_schema(fields, description="", additional=False, _seen=()):
    """Return the schema of an object with the given fields:
    [(name, hint, has_default, default, description)]."""
    props, required = {}, []
    for name, hint, has_default, default, desc in fields:
        s = dict(schema_of(hint, _seen))
        if desc:
            s["description"] = desc
        if has_default and default is not dataclasses.MISSING:
            try:
                s["default"] = to_json(default)
            except (TypeError, ValueError):
                pass
        if not has_default:
            required.append(name)
        props[name] = s
    out = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    if not additional:
        out["additionalProperties"] = False
    if description:
        out["description"] = description
    return out


def schema_of(tp, _seen=()):
    """Return the JSON Schema of values of the type hint tp.

    Raises TypeError for a hint with no JSON form (bytes, a class that is
    neither a dataclass nor a TypedDict, a recursive type).
    """
    if tp is typing.Any or tp is inspect.Parameter.empty or tp is object:
        return {}
    if tp is None or tp is NoneType:
        return {"type": "null"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is str:
        return {"type": "string"}
    if tp is File:
        return file_schema()
    if _is_enum(tp):
        s = {"enum": [m.value for m in tp]}
        doc = _own_doc(tp)
        if doc and doc != "An enumeration.":
            s["description"] = parse_docstring(doc).summary
        return s
    args = _union_args(tp)
    if args is not None:
        alts = [schema_of(a, _seen) for a in args]
        return {"anyOf": alts}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        s = {"enum": list(args)}
        kinds = {type(a) for a in args}
        if len(kinds) == 1 and kinds.pop() in (str, int, bool):
            s["type"] = {str: "string", int: "integer", bool: "boolean"}[type(args[0])]
        return s
    if tp is list or origin is list or origin is typing.List:
        return {"type": "array", "items": schema_of(args[0], _seen)} if args else {"type": "array"}
    if tp is dict or origin is dict or origin is typing.Dict:
        if not args:
            return {"type": "object"}
        if args[0] is not str:
            raise TypeError("dict keys must be str for JSON, not %r" % (args[0],))
        return {"type": "object", "additionalProperties": schema_of(args[1], _seen)}
    if _is_model(tp):
        return _model_schema(tp)
    if isinstance(tp, type) and (dataclasses.is_dataclass(tp) or _is_typeddict(tp)):
        if tp in _seen:
            raise TypeError("recursive type %s is not supported" % tp.__name__)
        fields, desc = _fields(tp)
        return object_schema(fields, desc, _seen=_seen + (tp,))
    raise TypeError("cannot derive a JSON Schema from the type %r" % (tp,))


def _is_model(tp):
    """Report whether tp is a pydantic v2 model class."""
    return isinstance(tp, type) and callable(getattr(tp, "model_json_schema", None)) and callable(getattr(tp, "model_validate", None))


def _model_schema(tp):
    """Return the model's JSON Schema with its $defs inlined: the schema is
    embedded in an algorithm's, where "#/$defs/…" would point elsewhere."""
    raw = tp.model_json_schema()
    defs = raw.pop("$defs", {})

    def inline(node, stack):
        if isinstance(node, list):
            return [inline(n, stack) for n in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref[len("#/$defs/"):]
            if name in stack:
                raise TypeError("recursive model %s is not supported" % name)
            out = inline(defs[name], stack + (name,))
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return dict(out, **inline(rest, stack)) if rest else out
        return {k: inline(v, stack) for k, v in node.items()}

    return inline(raw, (tp.__name__,))


def _pointer(base, key):
    return base + "/" + str(key).replace("~", "~0").replace("/", "~1")


_JSON_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number", NoneType: "null"}


def _kind(value):
    return _JSON_NAMES.get(type(value), type(value).__name__)


def convert(value, tp, pointer="", errors=None):
    """Return the JSON value converted to the type hint tp.

    Collects every violation; raises ValidationError when there is any
    (unless an errors list is given, which then receives them).
    """
    own = errors is None
    if own:
        errors = []
    out = _convert(value, tp, pointer, errors)
    if own and errors:
        raise ValidationError(errors)
    return out


def _convert(value, tp, ptr, errors):
    def bad(msg):
        errors.append((ptr, msg))

    if tp is typing.Any or tp is inspect.Parameter.empty or tp is object:
        return value
    if _is_model(tp):
        try:
            return tp.model_validate(value)
        except Exception as e:  # pydantic.ValidationError, without importing pydantic
            details = e.errors() if callable(getattr(e, "errors", None)) else None
            if not details:
                bad(str(e))
            for d in details or ():
                p = ptr
                for key in d.get("loc", ()):
                    p = _pointer(p, key)
                errors.append((p, d.get("msg", "invalid")))
            return None
    if tp is None or tp is NoneType:
        if value is not None:
            bad("got %s, want null" % _kind(value))
        return None
    if tp is bool:
        if not isinstance(value, bool):
            bad("got %s, want boolean" % _kind(value))
        return value
    if tp is int:
        if isinstance(value, float) and not isinstance(value, bool) and value.is_integer():
            return int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            bad("got %s, want integer" % _kind(value))
        return value
    if tp is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            bad("got %s, want number" % _kind(value))
            return value
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            bad("got %s, want string" % _kind(value))
        return value
    if tp is File:
        if isinstance(value, File):
            return value
        if not isinstance(value, dict) or not isinstance(value.get(FILE_KEY), str):
            bad('got %s, want a file reference {"$file": id}' % _kind(value))
            return value
        return File.from_ref(value)
    if _is_enum(tp):
        for m in tp:
            if m.value == value and type(m.value) is type(value):
                return m
        bad("got %s, want one of %s" % (_short(value), ", ".join(_short(m.value) for m in tp)))
        return value
    args = _union_args(tp)
    if args is not None:
        return _convert_union(value, args, ptr, errors)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        for a in args:
            if a == value and type(a) is type(value):
                return value
        bad("got %s, want one of %s" % (_short(value), ", ".join(_short(a) for a in args)))
        return value
    if tp is list or origin is list or origin is typing.List:
        if not isinstance(value, list):
            bad("got %s, want array" % _kind(value))
            return value
        item = args[0] if args else typing.Any
        return [_convert(v, item, _pointer(ptr, i), errors) for i, v in enumerate(value)]
    if tp is dict or origin is dict or origin is typing.Dict:
        if not isinstance(value, dict):
            bad("got %s, want object" % _kind(value))
            return value
        item = args[1] if args else typing.Any
        return {k: _convert(v, item, _pointer(ptr, k), errors) for k, v in value.items()}
    if isinstance(tp, type) and (dataclasses.is_dataclass(tp) or _is_typeddict(tp)):
        fields, _ = _fields(tp)
        before = len(errors)
        kwargs = convert_object(value, fields, ptr, errors)
        if kwargs is None or len(errors) > before:
            return value
        return tp(**kwargs) if dataclasses.is_dataclass(tp) else kwargs
    raise TypeError("cannot convert to the type %r" % (tp,))


def convert_object(value, fields, ptr, errors, additional=False):
    """Check the JSON object value against fields (as for object_schema)
    and return its converted members, or None if it is not an object."""
    if not isinstance(value, dict):
        errors.append((ptr, "got %s, want object" % _kind(value)))
        return None
    out = {}
    known = set()
    for name, hint, has_default, _, _ in fields:
        known.add(name)
        if name in value:
            out[name] = _convert(value[name], hint, _pointer(ptr, name), errors)
        elif not has_default:
            errors.append((ptr, "missing property %r" % name))
    for k in value:
        if k in known:
            continue
        if additional:
            out[k] = value[k]
        else:
            errors.append((_pointer(ptr, k), "unknown property %r" % k))
    return out


def _convert_union(value, args, ptr, errors):
    non_null = [a for a in args if a is not NoneType and a is not None]
    if value is None and len(non_null) < len(args):
        return None
    best = None
    for a in non_null:
        errs = []
        out = _convert(value, a, ptr, errs)
        if not errs:
            return out
        if best is None:
            best = errs
    if len(non_null) == 1:
        errors.extend(best)
    else:
        errors.append((ptr, "got %s, which matches none of the allowed types" % _kind(value)))
    return value


def _short(v):
    s = json.dumps(v) if isinstance(v, (str, int, float, bool, type(None))) else repr(v)
    return s if len(s) <= 40 else s[:39] + "…"


def to_json(value):
    """Return value as plain JSON data: dataclasses become objects, enum
    members their values, tuples arrays. Raises TypeError for anything
    JSON cannot hold and ValueError for NaN or infinities."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError("%r is not a JSON number" % value)
        return value
    if isinstance(value, enum.Enum):
        return to_json(value.value)
    if isinstance(value, File):
        return value.ref()
    if _is_model(type(value)) and callable(getattr(value, "model_dump", None)):
        return to_json(value.model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(k, enum.Enum):
                k = k.value
            if not isinstance(k, str):
                raise TypeError("object keys must be strings, not %s" % type(k).__name__)
            out[k] = to_json(v)
        return out
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    raise TypeError("a %s is not JSON data" % type(value).__name__)


if sys.version_info < (3, 9):  # pragma: no cover
    raise ImportError("conveyor needs Python 3.9 or newer")
