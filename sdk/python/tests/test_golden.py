"""The SDK against the golden transcripts of workerproto/testdata, which
the Go side replays too."""

import os
import unittest

from conveyor import protocol

from .transcript import TESTDATA, Worker, load, matches, replay, transcripts


class GoldenTest(unittest.TestCase):
    def test_transcripts(self):
        paths = transcripts()
        self.assertGreaterEqual(len(paths), 3, "no transcripts in %s" % TESTDATA)
        for path in paths:
            with self.subTest(os.path.basename(path)):
                stdout = replay(path)
                if os.path.basename(path) == "success.jsonl":
                    # print() in a handler goes to stdout, not to the protocol.
                    self.assertEqual(stdout, "counting words\n")

    def test_transcript_lines_are_valid(self):
        for path in transcripts():
            for msg in load(path):
                protocol.decode(protocol.encode(msg))

    def test_malformed_lines_are_rejected(self):
        with open(os.path.join(TESTDATA, "malformed.jsonl"), "rb") as f:
            lines = [line.rstrip(b"\n") for line in f if line.strip()]
        self.assertGreater(len(lines), 10)
        for line in lines:
            with self.subTest(line):
                with self.assertRaises(protocol.ProtocolError):
                    protocol.decode(line)

    def test_matches(self):
        self.assertTrue(matches({"a": "<any>", "b": [1]}, {"a": "x", "b": [1.0]}))
        self.assertFalse(matches({"a": "<any>"}, {"a": 1}))
        self.assertFalse(matches({"a": 1}, {"a": 1, "b": 2}))
        self.assertFalse(matches(1, True))

    def test_traceback_has_no_sdk_frames(self):
        w = Worker("golden_worker")
        try:
            w.recv()
            w.send({"type": "job", "id": "j", "algorithm": "fail", "input": {"message": "boom"}, "attempt": 1})
            err = w.recv()
        finally:
            w.close()
        detail = err["error"]["detail"]
        self.assertIn("golden_worker.py", detail)
        self.assertIn("ValueError: boom", detail)
        self.assertNotIn("_serve.py", detail)
        self.assertNotIn("registry.py", detail)


if __name__ == "__main__":
    unittest.main()
