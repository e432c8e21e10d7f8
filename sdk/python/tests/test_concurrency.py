"""A worker holding several jobs at once: async handlers on one event loop,
sync ones in a thread pool, per-job prints, cancel among many."""

import unittest

from .transcript import Worker


def start(conc):
    w = Worker("async_worker", env={"CONVEYOR_CONCURRENCY": str(conc)} if conc else None)
    hello = w.recv()
    assert hello["type"] == "hello", hello
    return w, hello


def job(jid, alg, **inp):
    return {"type": "job", "id": jid, "algorithm": alg, "input": inp, "attempt": 1}


def collect(w, ids, first=()):
    """Receive until every job of ids is answered: answers by id, and every
    message by id (those of first, received already, included)."""
    answers, seen = {}, {}
    order = seen.setdefault(None, [])  # every message, in order
    first = list(first)
    while set(answers) != set(ids):
        m = first.pop(0) if first else w.recv()
        assert m is not None, "worker closed its events pipe; answered %s" % sorted(answers)
        order.append(m)
        seen.setdefault(m.get("id"), []).append(m)
        if m["type"] in ("result", "error"):
            answers[m["id"]] = m
    return answers, seen


class ConcurrencyTest(unittest.TestCase):
    def test_hello_confirms_concurrency(self):
        w, hello = start(8)
        w.close()
        self.assertEqual(hello.get("concurrency"), 8)
        w, hello = start(None)
        w.close()
        self.assertNotIn("concurrency", hello)

    def test_async_handler_alone(self):
        w, _ = start(None)
        try:
            w.send(job("a1", "nap", seconds=0.01))
            answers, seen = collect(w, ["a1"])
        finally:
            out, err, code = w.close()
        self.assertEqual(answers["a1"], {"type": "result", "id": "a1", "output": {"slept": 0.01}})
        self.assertEqual(seen["a1"][0]["type"], "progress")
        # One job at a time: prints stay on the pipes, as with sync handlers.
        self.assertIn("start a1", out)
        self.assertIn("end a1", err)

    def test_eight_async_jobs_at_once_one_canceled(self):
        w, _ = start(8)
        ids = ["j%d" % i for i in range(8)]
        try:
            for i, jid in enumerate(ids):
                w.send(job(jid, "nap", seconds=60 if jid == "j3" else 0.3))
            # Once it runs (a cancel before would find it held, not started).
            first = []
            while not first or first[-1] != {"type": "progress", "id": "j3", "percent": 10.0, "message": "napping"}:
                first.append(w.recv())
            w.send({"type": "cancel", "id": "j3"})
            answers, seen = collect(w, ids, first)
        finally:
            out, err, code = w.close()
        self.assertEqual(code, 0, err)
        # All eight started before the first ended: they ran at once.
        order = seen[None]
        first_result = next(i for i, m in enumerate(order) if m["type"] == "result")
        started = [m["id"] for m in order[:first_result] if m["type"] == "progress"]
        self.assertEqual(sorted(started), ids)  # j3 too: canceled once it ran
        self.assertEqual(answers["j3"]["error"]["type"], "canceled")
        for jid in ids:
            if jid != "j3":
                self.assertEqual(answers[jid]["output"], {"slept": 0.3}, answers[jid])
            logs = [m for m in seen[jid] if m["type"] == "log"]
            # each print is a log line of its own job, with its stream
            self.assertIn({"type": "log", "id": jid, "level": "info", "message": "start " + jid, "stream": "stdout"}, logs)
            if jid != "j3":
                self.assertIn({"type": "log", "id": jid, "level": "info", "message": "end " + jid, "stream": "stderr"}, logs)
        self.assertNotIn("start", out)

    def test_async_errors_and_unknown(self):
        w, _ = start(4)
        try:
            w.send(job("e1", "nap_bad", n=1))
            w.send(job("e2", "nap", seconds="x"))
            w.send(job("e3", "nope"))
            answers, _ = collect(w, ["e1", "e2", "e3"])
        finally:
            w.close()
        self.assertEqual(answers["e1"]["error"]["type"], "ValueError")
        self.assertEqual(answers["e1"]["error"]["message"], "bad 1")
        self.assertEqual(answers["e2"]["error"]["type"], "invalid_input")
        self.assertEqual(answers["e3"]["error"]["type"], "unknown_algorithm")

    def test_sync_handlers_in_a_thread_pool(self):
        w, _ = start(4)
        ids = ["s%d" % i for i in range(4)]
        try:
            for jid in ids:
                w.send(job(jid, "together"))
            answers, seen = collect(w, ids)
            # a cancel among sync jobs: the flag, honoured by job.check()
            w.send(job("c1", "stubborn_sync", seconds=10))
            w.send(job("c2", "stubborn_sync", seconds=0.1))
            w.send({"type": "cancel", "id": "c1"})
            more, _ = collect(w, ["c1", "c2"])
        finally:
            w.close()
        threads = {answers[j]["output"] for j in ids}
        self.assertEqual(len(threads), 4, answers)  # four threads held the four jobs at once
        for jid in ids:
            self.assertIn({"type": "log", "id": jid, "level": "info", "message": "partial line of " + jid, "stream": "stdout"}, seen[jid])
        self.assertEqual(more["c1"]["error"]["type"], "canceled")
        self.assertEqual(more["c2"]["output"], "done")


if __name__ == "__main__":
    unittest.main()
