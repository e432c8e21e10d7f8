"""Batch algorithms (@conveyor.batch): schemas, errors at start, and a
worker answering batch messages job by job."""

import typing
import unittest

import conveyor
from conveyor.registry import Algorithm, discover

from . import batch_worker
from .test_concurrency import collect
from .transcript import Worker


def batch(algorithm, *inputs, attempt=1):
    jobs = [{"id": "b%d" % i, "input": inp, "attempt": attempt} for i, inp in enumerate(inputs)]
    return {"type": "batch", "algorithm": algorithm, "jobs": jobs}, [j["id"] for j in jobs]


class RegistryTest(unittest.TestCase):
    def test_announce(self):
        algs = {a.name: a.announce() for a in discover([batch_worker])}
        self.assertEqual(algs["shout"]["batch"], {"max_size": 8, "max_wait": 0.002})
        # Each job's input is one item of the list.
        self.assertEqual(algs["shout"]["input_schema"]["type"], "object")
        self.assertEqual(algs["shout"]["input_schema"]["required"], ["text"])
        # Exception members of the item type are not outputs.
        self.assertEqual(algs["shout"]["output_schema"], {"type": "string"})
        self.assertEqual(algs["ashout"]["input_schema"], {"type": "string"})
        self.assertEqual(algs["pids"]["batch"], {"max_size": 32, "max_wait": 0.01})
        self.assertEqual(algs["pids"]["input_schema"], {})

    def test_errors_at_start(self):
        def no_list(text: str) -> list:
            return []

        def two_lists(a: typing.List[int], b: typing.List[int]) -> list:
            return []

        def not_a_list_out(a: typing.List[int]) -> int:
            return 0

        def gen(a: typing.List[int]):
            yield 1

        for f, want in [(no_list, "no_list has no list parameter"), (two_lists, "parameter b has no default"),
                        (not_a_list_out, "the return hint must be a list"), (gen, "a generator cannot be a batch handler")]:
            with self.subTest(f.__name__):
                with self.assertRaises(TypeError) as cm:
                    Algorithm(conveyor.batch(f), **getattr(f, "__conveyor_algorithm__"))
                self.assertIn(want, str(cm.exception))
        for kwargs in [{"max_size": 0}, {"max_size": 2.5}, {"max_wait": -1}, {"max_wait": "1"}, {"max_size": True}]:
            with self.subTest(kwargs):
                with self.assertRaises(TypeError):
                    conveyor.batch(**kwargs)


class WorkerTest(unittest.TestCase):
    def setUp(self):
        self.w = Worker("batch_worker")
        self.assertEqual(self.w.recv()["type"], "hello")

    def close(self):
        return self.w.close()

    def test_outputs_and_errors_by_job(self):
        msg, ids = batch("shout", {"text": "a"}, {"text": "b", "upper": True}, {"text": "bad"}, {"text": 5})
        self.w.send(msg)
        answers, seen = collect(self.w, ids)
        out, err, code = self.close()
        self.assertEqual(answers["b0"], {"type": "result", "id": "b0", "output": "a"})
        self.assertEqual(answers["b1"], {"type": "result", "id": "b1", "output": "B"})
        self.assertEqual(answers["b2"]["error"], {"type": "ValueError", "message": "bad text"})
        self.assertFalse(answers["b2"]["retryable"])
        # An input that does not convert fails alone, before the handler.
        self.assertEqual(answers["b3"]["error"]["type"], "invalid_input")
        self.assertIn("at /text", answers["b3"]["error"]["detail"])
        self.assertEqual(seen["b0"][0], {"type": "log", "id": "b0", "level": "info", "message": "first of the batch"})
        # One batch at a time: prints stay on the pipes, lines of each job of it.
        self.assertEqual(out, "batch of 3\n")
        self.assertEqual(code, 0)

    def test_exception_and_wrong_type_fail_every_job(self):
        msg, ids = batch("shout", {"text": "a"}, {"text": "raise"})
        self.w.send(msg)
        answers, _ = collect(self.w, ids)
        msg, ids2 = batch("shout", {"text": "none"}, {"text": "x"})
        for j in msg["jobs"]:
            j["id"] += "n"
        self.w.send(msg)
        answers2, _ = collect(self.w, [i + "n" for i in ids2])
        self.close()
        for jid in ids:
            self.assertEqual(answers[jid]["error"]["type"], "ValueError")
            self.assertEqual(answers[jid]["error"]["message"], "the model fell over")
            self.assertIn("batch_worker.py", answers[jid]["error"]["detail"])
        for a in answers2.values():
            self.assertEqual(a["error"]["type"], "batch_length")
            self.assertEqual(a["error"]["message"], "shout returned NoneType, not a list of 2 outputs (a batch handler "
                                                    "returns one output, or an Exception, per input)")

    def test_a_job_message_for_a_batch_algorithm(self):
        self.w.send({"type": "job", "id": "j", "algorithm": "shout", "input": {"text": "a"}, "attempt": 1})
        a = self.w.recv()
        self.close()
        self.assertEqual(a["error"]["type"], "unknown_algorithm")
        self.assertIn("runs in batches", a["error"]["message"])


class ConcurrentBatchTest(unittest.TestCase):
    def test_async_batches_prints_and_cancel(self):
        w = Worker("batch_worker", env={"CONVEYOR_CONCURRENCY": "2"})
        self.assertEqual(w.recv()["concurrency"], 2)
        try:
            wait, wait_ids = batch("ashout", "wait", "x")
            w.send(wait)
            # The waiting batch reports progress for each job.
            seen = set()
            while seen != set(wait_ids):
                m = w.recv()
                self.assertIn(m["type"], ("progress", "log"), m)
                if m["type"] == "progress":
                    seen.add(m["id"])
            quick, _ = batch("ashout", "a", "b")
            for j in quick["jobs"]:
                j["id"] = "q" + j["id"]
            w.send(quick)
            answers, by_id = collect(w, ["qb0", "qb1"])
            self.assertEqual(answers["qb1"]["output"], "B")
            # With several batches at once, a batch's prints are log
            # lines of each of its jobs.
            self.assertIn({"type": "log", "id": "qb0", "level": "info", "message": "async batch of 2", "stream": "stdout"}, by_id["qb0"])
            self.assertIn({"type": "log", "id": "qb1", "level": "info", "message": "async batch of 2", "stream": "stdout"}, by_id["qb1"])
            # Canceling one job leaves the batch running; both, stops it.
            w.send({"type": "cancel", "id": "b0"})
            w.send({"type": "cancel", "id": "b1"})
            answers, _ = collect(w, wait_ids)
            for jid in wait_ids:
                self.assertEqual(answers[jid]["error"]["type"], "canceled")
        finally:
            out, err, code = w.close()
        self.assertEqual(code, 0, err)


if __name__ == "__main__":
    unittest.main()
