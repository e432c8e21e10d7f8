"""Type hints to JSON Schema, and JSON values back to typed values."""

import dataclasses
import enum
import typing
import unittest
from typing import Any, Dict, List, Literal, Optional, TypedDict, Union

from conveyor.schema import ValidationError, convert, schema_of, to_json


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclasses.dataclass
class Point:
    """A point.

    Attributes:
        x: across.
        y: down.
    """

    x: float
    y: float = 0.0


@dataclasses.dataclass
class Shape:
    name: str
    points: List[Point]
    colour: Colour = Colour.RED
    tags: Dict[str, int] = dataclasses.field(default_factory=dict)


class Movie(TypedDict):
    title: str
    year: int


class Node(TypedDict):
    children: List["Node"]


class SchemaTest(unittest.TestCase):
    def test_simple_types(self):
        cases = [
            (int, {"type": "integer"}),
            (float, {"type": "number"}),
            (str, {"type": "string"}),
            (bool, {"type": "boolean"}),
            (None, {"type": "null"}),
            (type(None), {"type": "null"}),
            (Any, {}),
            (list, {"type": "array"}),
            (List[int], {"type": "array", "items": {"type": "integer"}}),
            (list[str], {"type": "array", "items": {"type": "string"}}),
            (dict, {"type": "object"}),
            (Dict[str, float], {"type": "object", "additionalProperties": {"type": "number"}}),
            (Optional[int], {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
            (Union[int, str], {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
            (Literal["a", "b"], {"enum": ["a", "b"], "type": "string"}),
            (Literal[1, "x"], {"enum": [1, "x"]}),
            (Colour, {"enum": ["red", "green"]}),
        ]
        for tp, want in cases:
            with self.subTest(tp):
                self.assertEqual(schema_of(tp), want)

    def test_union_operator(self):
        if not hasattr(__import__("types"), "UnionType"):
            self.skipTest("X | Y needs Python 3.10")
        self.assertEqual(schema_of(eval("int | None")), {"anyOf": [{"type": "integer"}, {"type": "null"}]})

    def test_dataclass(self):
        s = schema_of(Shape)
        self.assertEqual(s["required"], ["name", "points"])
        self.assertFalse(s["additionalProperties"])
        self.assertEqual(s["properties"]["colour"], {"enum": ["red", "green"], "default": "red"})
        self.assertEqual(s["properties"]["tags"], {"type": "object", "additionalProperties": {"type": "integer"}})
        point = s["properties"]["points"]["items"]
        self.assertEqual(point["description"], "A point.")
        self.assertEqual(point["properties"]["x"], {"type": "number", "description": "across."})
        self.assertEqual(point["properties"]["y"], {"type": "number", "description": "down.", "default": 0.0})
        self.assertNotIn("description", s)  # the generated "Shape(name: str, …)" is no description

    def test_typeddict(self):
        self.assertEqual(schema_of(Movie), {
            "type": "object", "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
            "required": ["title", "year"], "additionalProperties": False,
        })

    def test_unsupported(self):
        for tp in (bytes, complex, Dict[int, str], Node, typing.Callable):
            with self.subTest(tp), self.assertRaises(TypeError):
                schema_of(tp)


class ConvertTest(unittest.TestCase):
    def test_valid(self):
        shape = convert({"name": "s", "points": [{"x": 1, "y": 2}, {"x": 3}], "colour": "green"}, Shape)
        self.assertEqual(shape, Shape("s", [Point(1.0, 2.0), Point(3.0)], Colour.GREEN))
        self.assertIsInstance(shape.points[0].x, float)
        self.assertEqual(convert(3.0, int), 3)
        self.assertIsNone(convert(None, Optional[int]))
        self.assertEqual(convert({"title": "x", "year": 1999}, Movie), {"title": "x", "year": 1999})
        self.assertEqual(convert("b", Literal["a", "b"]), "b")
        self.assertEqual(convert([1, "x"], List[Union[int, str]]), [1, "x"])

    def errors(self, value, tp):
        with self.assertRaises(ValidationError) as cm:
            convert(value, tp)
        return cm.exception.errors

    def test_invalid(self):
        cases = [
            ("3", int, [("", "got string, want integer")]),
            (True, int, [("", "got boolean, want integer")]),
            (1.5, int, [("", "got number, want integer")]),
            (1, bool, [("", "got integer, want boolean")]),
            ("blue", Colour, [("", 'got "blue", want one of "red", "green"')]),
            (1, Literal[True], [("", "got 1, want one of true")]),
            ("x", Optional[int], [("", "got string, want integer")]),
            ({"a/b": "x"}, Dict[str, int], [("/a~1b", "got string, want integer")]),
            ([1, "x", 3], List[int], [("/1", "got string, want integer")]),
            ({"points": [{"x": "1", "z": 0}], "colour": "blue"}, Shape, [
                ("", "missing property 'name'"),
                ("/colour", 'got "blue", want one of "red", "green"'),
                ("/points/0/x", "got string, want number"),
                ("/points/0/z", "unknown property 'z'"),
            ]),
        ]
        for value, tp, want in cases:
            with self.subTest(value=value, tp=tp):
                self.assertEqual(sorted(self.errors(value, tp)), sorted(want))

    def test_message(self):
        err = ValidationError([("/top", "got string, want integer"), ("", "missing property 'text'")])
        self.assertEqual(str(err), "at /top: got string, want integer; at /: missing property 'text'")

    def test_to_json(self):
        self.assertEqual(to_json(Shape("s", [Point(1, 2)], tags={"a": 1})),
                         {"name": "s", "points": [{"x": 1, "y": 2}], "colour": "red", "tags": {"a": 1}})
        self.assertEqual(to_json((1, Colour.GREEN)), [1, "green"])
        with self.assertRaises(ValueError):
            to_json(float("nan"))
        with self.assertRaises(TypeError):
            to_json({1: 2})
        with self.assertRaises(TypeError):
            to_json(object())


if __name__ == "__main__":
    unittest.main()
