"""The worker process: start-up failures, stray output, robustness."""

import os
import subprocess
import sys
import unittest

from .transcript import HERE, SDK, Worker


def hello(w):
    msg = w.recv()
    assert msg and msg["type"] == "hello", msg
    return msg


class WorkerProcessTest(unittest.TestCase):
    def run_worker(self, *args):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, SDK]))
        return subprocess.run([sys.executable, "-m", "conveyor.worker", *args], capture_output=True, text=True,
                              env=env, timeout=20)

    def test_import_error_exits_1_with_traceback(self):
        p = self.run_worker("no_such_module_xyz")
        self.assertEqual(p.returncode, 1)
        self.assertIn("ModuleNotFoundError: No module named 'no_such_module_xyz'", p.stderr)

    def test_without_fds_explains(self):
        p = self.run_worker("golden_worker")
        self.assertEqual(p.returncode, 2)
        self.assertIn("file descriptors 3 and 4 are not open", p.stderr)

    def test_usage(self):
        p = self.run_worker()
        self.assertEqual(p.returncode, 2)
        self.assertIn("usage:", p.stderr)

    def test_describe(self):
        p = self.run_worker("--describe", "golden_worker")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('"word_count"', p.stdout)

    def test_stray_output_and_malformed_lines(self):
        w = Worker("behaviour_worker")
        try:
            hello(w)
            os.write(w.jobs_w, b"this is not json\n{\"type\":\"future\"}\n\n")
            w.send({"type": "cancel", "id": "nothing-running"})
            w.send({"type": "job", "id": "j1", "algorithm": "noisy", "input": {}, "attempt": 1})
            self.assertEqual(w.recv(), {"type": "result", "id": "j1", "output": "done"})
        finally:
            out, err, code = w.close()
        self.assertEqual(code, 0)
        self.assertEqual(sorted(out.splitlines()), ["from a subprocess", "from print"])
        self.assertIn("malformed protocol line: not a JSON object", err)
        self.assertIn("unknown message type 'future'", err)
        self.assertIn("to stderr", err)

    def test_pipeline_routes(self):
        w = Worker("behaviour_worker")
        try:
            hello(w)
            w.send({"type": "job", "id": "j1", "algorithm": "route", "input": {"mode": "final"}, "attempt": 1})
            self.assertEqual(w.recv(), {"type": "result", "id": "j1", "output": {"done": True}, "final": True})
            w.send({"type": "job", "id": "j2", "algorithm": "route", "input": {"mode": "next"}, "attempt": 1})
            self.assertEqual(w.recv(), {"type": "result", "id": "j2", "output": {"text": "on"}, "next": "narrate"})
        finally:
            w.close()

    @unittest.skipUnless(os.path.isdir("/proc/self/fd"), "needs /proc")
    def test_protocol_fds_are_not_inherited(self):
        w = Worker("behaviour_worker")
        try:
            hello(w)
            w.send({"type": "job", "id": "j1", "algorithm": "child_fds", "input": {}, "attempt": 1})
            res = w.recv()
        finally:
            w.close()
        self.assertEqual(res["type"], "result", res)
        protocol, child = res["output"]["protocol"], res["output"]["child"]
        self.assertTrue(all(p.startswith("pipe:") for p in protocol), protocol)
        self.assertFalse(set(protocol) & set(child), "the handler's subprocess holds the protocol pipes: %s" % child)



class DeadlineTest(unittest.TestCase):
    def test_rfc3339(self):
        import datetime

        from conveyor._serve import _deadline

        utc = datetime.timezone.utc
        self.assertEqual(_deadline("2030-01-02T03:04:05.123456789Z"), datetime.datetime(2030, 1, 2, 3, 4, 5, 123456, utc))
        self.assertEqual(_deadline("2030-01-02T03:04:05.1Z"), datetime.datetime(2030, 1, 2, 3, 4, 5, 100000, utc))
        self.assertEqual(_deadline("2030-01-02T05:04:05+02:00"), datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=utc))
        self.assertIsNone(_deadline("tomorrow"))
        self.assertIsNone(_deadline(None))


if __name__ == "__main__":
    unittest.main()
