"""conveyor.File: the schema of a file reference and its conversion."""

import dataclasses
import os
import tempfile
import unittest

import conveyor
from conveyor.schema import ValidationError, convert, schema_of, to_json


@dataclasses.dataclass
class Inputs:
    train: conveyor.File
    extra: list


class FileTest(unittest.TestCase):
    def test_schema(self):
        s = schema_of(conveyor.File)
        self.assertEqual(s["required"], ["$file"])
        self.assertEqual(s["properties"]["$file"]["type"], "string")
        self.assertEqual(schema_of(Inputs)["properties"]["train"], s)

    def test_convert(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "f")
            with open(path, "wb") as f:
                f.write(b"hello")
            ref = {"$file": "F1", "path": path, "size": 5, "sha256": "ab", "content_type": "text/plain"}
            f = convert(ref, conveyor.File)
            self.assertEqual((f.id, f.path, f.size, f.sha256, f.content_type), ("F1", path, 5, "ab", "text/plain"))
            with f.open() as r:
                self.assertEqual(r.read(), b"hello")
            with open(f) as r:  # os.PathLike
                self.assertEqual(r.read(), "hello")
            with self.assertRaises(ValueError):
                f.open("wb")
            got = convert({"train": ref, "extra": []}, Inputs)
            self.assertEqual(got.train, f)
            self.assertEqual(to_json(got), {"train": {"$file": "F1"}, "extra": []})

    def test_not_a_reference(self):
        with self.assertRaises(ValidationError) as c:
            convert({"train": "F1", "extra": []}, Inputs)
        self.assertIn("/train", str(c.exception.errors))


if __name__ == "__main__":
    unittest.main()
