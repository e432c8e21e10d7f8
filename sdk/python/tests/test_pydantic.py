"""pydantic v2 models as parameters and return types, where pydantic is
installed. Skipped without it, except under CI when .ci/run installed it
(CONVEYOR_CI_PYDANTIC=1): then it must run."""

import os
import unittest

from conveyor import ValidationError
from conveyor.registry import Algorithm

try:
    import pydantic
    HAVE = pydantic.VERSION.startswith("2.")
except ImportError:
    HAVE = False

if not HAVE and os.environ.get("CONVEYOR_CI_PYDANTIC") == "1":
    raise RuntimeError(".ci/run installed pydantic 2, but it is not importable")


@unittest.skipUnless(HAVE, "pydantic 2 is not installed")
class PydanticTest(unittest.TestCase):
    def setUp(self):
        class Point(pydantic.BaseModel):
            x: float
            y: float = 0.0

        class Shape(pydantic.BaseModel):
            """A named polygon."""
            name: str = pydantic.Field(min_length=1)
            points: list[Point]

        class Area(pydantic.BaseModel):
            name: str
            area: float

        def run_area(shape: Shape, scale: int = 1) -> Area:
            pts = shape.points
            a = 0.5 * abs(sum(p.x * q.y - q.x * p.y for p, q in zip(pts, pts[1:] + pts[:1])))
            return Area(name=shape.name, area=a * scale)

        self.alg = Algorithm(run_area)

    def test_schema_from_the_model_self_contained(self):
        s = self.alg.input_schema["properties"]["shape"]
        self.assertEqual(s["properties"]["name"]["minLength"], 1)
        self.assertEqual(s["properties"]["points"]["items"]["required"], ["x"])
        self.assertNotIn("$ref", repr(self.alg.announce()))
        self.assertEqual(self.alg.output_schema["required"], ["name", "area"])

    def test_input_validated_and_output_dumped(self):
        out = self.alg.call({"shape": {"name": "sq", "points": [{"x": 0}, {"x": 1}, {"x": 1, "y": 1}, {"x": 0, "y": 1}]}, "scale": 2}, None)
        self.assertEqual(out, {"name": "sq", "area": 2.0})

    def test_violations_have_pointers(self):
        with self.assertRaises(ValidationError) as cm:
            self.alg.call({"shape": {"name": "", "points": [{"y": 1}]}}, None)
        pointers = sorted(p for p, _ in cm.exception.errors)
        self.assertEqual(pointers, ["/shape/name", "/shape/points/0/x"])


    def test_batch_of_models(self):
        import conveyor

        class Item(pydantic.BaseModel):
            text: str
            n: int = 1

        class Size(pydantic.BaseModel):
            size: int

        @conveyor.batch(max_size=4)
        def sizes(items: list[Item]) -> list[Size]:
            return [Size(size=len(i.text) * i.n) for i in items]

        alg = Algorithm(sizes, **sizes.__conveyor_algorithm__)
        hello = alg.announce()
        self.assertEqual(hello["input_schema"]["required"], ["text"])
        self.assertEqual(hello["output_schema"]["required"], ["size"])
        items, errs = alg.bind_batch([{"text": "ab"}, {"text": "x", "n": 3}, {"n": 2}])
        self.assertEqual([e.errors[0][0] if e else None for e in errs], [None, None, "/text"])
        self.assertEqual(alg.call_batch(items, None), [{"size": 2}, {"size": 3}])


if __name__ == "__main__":
    unittest.main()
