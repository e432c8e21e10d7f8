"""Artifacts: job.artifact, returned bytes and local files, name checks."""

import os
import tempfile
import unittest

import conveyor
from conveyor.artifacts import valid_artifact_name
from conveyor.registry import Algorithm


def notes(job: conveyor.Job) -> dict:
    with job.artifact("notes.txt", "w") as f:
        f.write("hi")
    return {"notes": {"$artifact": "notes.txt"}}


def raw() -> bytes:
    return b"\x00\x01\x02"


class ArtifactTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.job = conveyor.Job("J1", "a", output_dir=self.dir)

    def test_names(self):
        for ok in ["model.bin", ".hidden", "résumé.pdf", "a" * 200]:
            valid_artifact_name(ok)
        for bad in ["", "a/b", "a\\b", ".", "..", "x..y", "tab\t", "a" * 201, None]:
            with self.assertRaises(ValueError, msg=repr(bad)):
                valid_artifact_name(bad)

    def test_job_artifact(self):
        out = Algorithm(notes, "notes").call({}, self.job)
        self.assertEqual(out, {"notes": {"$artifact": "notes.txt"}})
        with open(os.path.join(self.dir, "notes.txt")) as f:
            self.assertEqual(f.read(), "hi")
        with self.assertRaises(ValueError):
            self.job.artifact("../x")
        with self.assertRaises(ValueError):
            self.job.artifact("x", "r")
        with self.assertRaises(RuntimeError):
            conveyor.Job("J2").artifact("x")

    def test_return_bytes(self):
        alg = Algorithm(raw, "raw")
        self.assertEqual(alg.output_schema["required"], ["$file", "name"])
        self.assertEqual(alg.call({}, self.job), {"$artifact": "output"})
        with open(os.path.join(self.dir, "output"), "rb") as f:
            self.assertEqual(f.read(), b"\x00\x01\x02")

    def test_return_local_file(self):
        src = os.path.join(tempfile.mkdtemp(), "model.bin")
        with open(src, "wb") as f:
            f.write(b"m" * 10)

        def model() -> conveyor.File:
            return conveyor.File(src)

        def nested() -> dict:
            return {"model": conveyor.File(src), "input": conveyor.File("01JABCDEFGHJKMNPQRSTVWXYZ0")}

        self.assertEqual(Algorithm(model, "model").call({}, self.job), {"$artifact": "model.bin"})
        self.assertEqual(os.path.getsize(os.path.join(self.dir, "model.bin")), 10)
        os.remove(os.path.join(self.dir, "model.bin"))
        self.assertEqual(Algorithm(nested, "nested").call({}, self.job),
                         {"model": {"$artifact": "model.bin"}, "input": {"$file": "01JABCDEFGHJKMNPQRSTVWXYZ0"}})

    def test_file_of_a_path(self):
        self.assertEqual(conveyor.File("out/model.bin").path, "out/model.bin")
        self.assertIsNone(conveyor.File("out/model.bin").id)
        self.assertEqual(conveyor.File("01JABCDEFGHJKMNPQRSTVWXYZ0").id, "01JABCDEFGHJKMNPQRSTVWXYZ0")


if __name__ == "__main__":
    unittest.main()
