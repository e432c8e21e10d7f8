"""Finding algorithms in modules and calling them."""

import types
import unittest
from typing import Generator, List, Optional

import conveyor
from conveyor.registry import Algorithm, discover


def module(**funcs):
    m = types.ModuleType("m")
    for name, f in funcs.items():
        setattr(m, name, f)
    return m


class DiscoverTest(unittest.TestCase):
    def test_run_functions_and_decorated(self):
        def run_word_count(text: str, top: int = 10) -> dict:
            """Counts words.

            Args:
                text: the text.
            """

        @conveyor.algorithm(name="train", description="Trains.")
        def fit(epochs: int, job: conveyor.Job) -> None:
            pass

        @conveyor.algorithm
        def plain(x):
            pass

        def helper(x: int):
            pass

        algs = discover([module(run_word_count=run_word_count, fit=fit, plain=plain, helper=helper, run_not_a_function=3)])
        self.assertEqual([a.name for a in algs], ["word_count", "train", "plain"])
        wc, train, plain_alg = algs
        self.assertEqual(wc.announce(), {
            "name": "word_count", "description": "Counts words.",
            "input_schema": {"type": "object", "properties": {
                "text": {"type": "string", "description": "the text."},
                "top": {"type": "integer", "default": 10}},
                "required": ["text"], "additionalProperties": False},
            "output_schema": {"type": "object"},
        })
        self.assertEqual(train.description, "Trains.")
        self.assertEqual(train.job_param, "job")
        self.assertEqual(train.input_schema["required"], ["epochs"])
        self.assertEqual(plain_alg.input_schema["properties"], {"x": {}})
        self.assertNotIn("output_schema", plain_alg.announce())

    def test_errors(self):
        def run_Bad():
            pass

        def run_a():
            pass

        @conveyor.algorithm(name="a")
        def other():
            pass

        def run_star(*args):
            pass

        def run_bytes(b: bytes):
            pass

        cases = [
            ([module(run_Bad=run_Bad)], TypeError, "invalid"),
            ([module(run_a=run_a, other=other)], TypeError, "defined twice"),
            ([module(run_star=run_star)], TypeError, "by keyword"),
            ([module(run_bytes=run_bytes)], TypeError, "run_bytes"),
            ([module(x=1)], LookupError, "no algorithms"),
        ]
        for mods, exc, text in cases:
            with self.subTest(text), self.assertRaisesRegex(exc, text):
                discover(mods)

    def test_same_function_twice_is_one(self):
        def run_a():
            pass

        self.assertEqual(len(discover([module(run_a=run_a), module(run_a=run_a)])), 1)


class CallTest(unittest.TestCase):
    def job(self):
        sent = []
        return conveyor.Job("j1", send=sent.append), sent

    def test_call_converts_and_passes_job(self):
        seen = {}

        def run_x(items: List[int], label: Optional[str] = None, *, job: conveyor.Job, **rest) -> dict:
            seen.update(items=items, label=label, job=job, rest=rest)
            job.log("hi")
            return {"n": len(items)}

        alg = Algorithm(run_x)
        self.assertTrue(alg.input_schema.get("additionalProperties", True))
        job, sent = self.job()
        self.assertEqual(alg.call({"items": [1, 2.0], "extra": 1}, job), {"n": 2})
        self.assertEqual(seen, {"items": [1, 2], "label": None, "job": job, "rest": {"extra": 1}})
        self.assertEqual(sent, [{"type": "log", "id": "j1", "level": "info", "message": "hi"}])

    def test_generator(self):
        def run_gen(n: int) -> Generator[float, None, dict]:
            for i in range(n):
                yield i * 10, "step %d" % i
            yield 50
            return {"done": n}

        alg = Algorithm(run_gen)
        self.assertEqual(alg.output_schema, {"type": "object"})
        job, sent = self.job()
        self.assertEqual(alg.call({"n": 2}, job), {"done": 2})
        self.assertEqual([(m["percent"], m.get("message")) for m in sent], [(0, "step 0"), (10, "step 1"), (50, None)])

    def test_generator_stops_on_cancel(self):
        closed = []

        def run_gen():
            try:
                while True:
                    yield 1
            finally:
                closed.append(True)

        job, sent = self.job()
        calls = iter(range(3))

        def send(msg):
            sent.append(msg)
            if next(calls) == 1:
                job._set_cancelled()

        job._send = send
        with self.assertRaises(conveyor.Cancelled):
            Algorithm(run_gen).call({}, job)
        self.assertEqual(closed, [True])
        self.assertEqual(len(sent), 2)

    def test_progress_raises_once_cancelled(self):
        job, sent = self.job()
        job.progress(150, "clamped")
        self.assertEqual(sent[-1]["percent"], 100.0)
        self.assertFalse(job.cancelled)
        job._set_cancelled()
        self.assertTrue(job.cancelled)
        with self.assertRaises(conveyor.Cancelled):
            job.progress(1)
        job.log("logs still work")

    def test_bind_errors(self):
        def run_wc(text: str, top: int = 10):
            pass

        with self.assertRaises(conveyor.ValidationError) as cm:
            Algorithm(run_wc).bind({"top": "3", "x": 1})
        self.assertEqual(sorted(cm.exception.errors), [
            ("", "missing property 'text'"), ("/top", "got string, want integer"), ("/x", "unknown property 'x'")])


if __name__ == "__main__":
    unittest.main()
