"""A worker holding jobs beyond its concurrency (CONVEYOR_PREFETCH): it
starts them in the order they came, each once a running one is answered,
and answers a cancel of one it holds at once, without running it."""

import datetime
import unittest

from .transcript import Worker


def job(jid, alg, **inp):
    return {"type": "job", "id": jid, "algorithm": alg, "input": inp, "attempt": 1}


class PrefetchTest(unittest.TestCase):
    def start(self, env):
        w = Worker("async_worker", "golden_worker", env=env)
        hello = w.recv()
        self.assertEqual(hello["type"], "hello")
        return w, hello

    def test_hello_confirms_prefetch(self):
        w, hello = self.start({"CONVEYOR_PREFETCH": "2"})
        w.close()
        self.assertEqual(hello.get("prefetch"), 2)
        w, hello = self.start(None)
        w.close()
        self.assertNotIn("prefetch", hello)

    def test_held_jobs_start_in_order_one_at_a_time(self):
        # An async handler too: held jobs wait whatever the handler.
        w, _ = self.start({"CONVEYOR_PREFETCH": "3"})
        try:
            w.send(job("a", "nap", seconds=0.2))
            w.send(job("b", "nap", seconds=0.01))
            w.send(dict(job("c", "word_count", text="x y"), timeout=30))
            order = []
            while len([m for m in order if m["type"] in ("result", "error")]) < 3:
                order.append(w.recv())
        finally:
            out, err, code = w.close()
        self.assertEqual(code, 0, err)
        kinds = [(m["type"], m["id"]) for m in order if m["type"] != "log"]
        # One job at a time, in order: each starts (progress) after the
        # answer of the one before it.
        self.assertEqual(kinds, [("progress", "a"), ("result", "a"), ("progress", "b"), ("result", "b"), ("result", "c")])
        # Prints of a job are its log lines, not the pipes': jobs follow
        # each other with no pause.
        self.assertIn({"type": "log", "id": "c", "level": "info", "message": "counting words", "stream": "stdout"}, order)
        self.assertNotIn("counting words", out)

    def test_cancel_of_a_held_job(self):
        w, _ = self.start({"CONVEYOR_PREFETCH": "1"})
        try:
            w.send(job("run", "wait_for_cancel"))
            self.assertEqual(w.recv()["type"], "progress")
            w.send(job("held", "word_count", text="never"))
            w.send({"type": "cancel", "id": "held"})
            # Answered at once, while "run" still runs.
            self.assertEqual(w.recv(), {"type": "error", "id": "held", "retryable": False,
                                        "error": {"type": "canceled", "message": "the job was canceled before it started"}})
            w.send({"type": "cancel", "id": "held"})  # again: it is gone, ignored
            w.send(job("next", "word_count", text="once"))
            w.send({"type": "cancel", "id": "run"})
            got = [w.recv() for _ in range(3)]
        finally:
            out, err, code = w.close()
        self.assertEqual(code, 0, err)
        self.assertEqual(got[0]["id"], "run")
        self.assertEqual(got[0]["error"]["type"], "canceled")
        self.assertEqual(got[2], {"type": "result", "id": "next", "output": {"words": 1, "top": [["once", 1]]}})
        # "held" never ran: one count of words, not two.
        self.assertEqual([m for m in got if m["type"] == "log"], [got[1]])

    def test_timeout_of_a_held_job_counts_from_its_start(self):
        w, _ = self.start({"CONVEYOR_PREFETCH": "1"})
        try:
            sent = datetime.datetime.now(datetime.timezone.utc)
            w.send(job("a", "nap", seconds=0.3))
            w.send(dict(job("b", "deadline"), timeout=10))
            msgs = []
            while len([m for m in msgs if m["type"] == "result"]) < 2:
                msgs.append(w.recv())
        finally:
            out, err, code = w.close()
        self.assertEqual(code, 0, err)
        a_end = next(i for i, m in enumerate(msgs) if m["type"] == "result" and m["id"] == "a")
        b = next(m for m in msgs if m["type"] == "result" and m["id"] == "b")
        self.assertGreater(msgs.index(b), a_end)
        deadline = datetime.datetime.fromisoformat(b["output"]["deadline"])
        # Its 10 s count from its start, after "a"'s 0.3 s nap: the wait in
        # the worker's hands is not charged to it.
        self.assertGreaterEqual(deadline, sent + datetime.timedelta(seconds=10.3))
        self.assertLessEqual(deadline, datetime.datetime.fromisoformat(b["output"]["now"]) + datetime.timedelta(seconds=10))


if __name__ == "__main__":
    unittest.main()
