"""The SDK's own build backend (what `pip install ./sdk/python` runs)."""

import os
import sys
import tarfile
import tempfile
import unittest
import zipfile

from .transcript import SDK

sys.path.insert(0, SDK)
import _build  # noqa: E402


class BuildTest(unittest.TestCase):
    def test_wheel(self):
        with tempfile.TemporaryDirectory() as d:
            name = _build.build_wheel(d)
            self.assertEqual(name, "conveyor_sdk-0.1.0-py3-none-any.whl")
            with zipfile.ZipFile(os.path.join(d, name)) as z:
                names = set(z.namelist())
                record = z.read("conveyor_sdk-0.1.0.dist-info/RECORD").decode()
        for mod in ("__init__", "worker", "_serve", "schema", "client"):
            self.assertIn("conveyor/%s.py" % mod, names)
            self.assertIn("conveyor/%s.py,sha256=" % mod, record)
        self.assertIn("conveyor_sdk-0.1.0.dist-info/METADATA", names)
        self.assertFalse([n for n in names if "test" in n or "__pycache__" in n], names)

    def test_sdist_and_editable(self):
        with tempfile.TemporaryDirectory() as d:
            with tarfile.open(os.path.join(d, _build.build_sdist(d))) as tar:
                self.assertIn("conveyor_sdk-0.1.0/conveyor/worker.py", tar.getnames())
            with zipfile.ZipFile(os.path.join(d, _build.build_editable(d))) as z:
                self.assertEqual(z.read("conveyor_sdk.pth").decode().strip(), SDK)


if __name__ == "__main__":
    unittest.main()
