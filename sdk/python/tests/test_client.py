"""The HTTP client, against a fake Conveyor API on loopback."""

import json
import threading
import unittest
from http.server import BaseHTTPRequestHandler, HTTPServer

import conveyor


class FakeAPI(BaseHTTPRequestHandler):
    """Answers like Conveyor's API v1 for one job, "j1"."""

    jobs = {}
    requests = []
    traceparents = []

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="application/json"):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"null")
        self.requests.append(("POST", self.path, body, self.headers.get("Authorization")))
        self.traceparents.append(self.headers.get("traceparent"))
        if self.path.startswith("/v1/jobs/j1/cancel"):
            self.jobs["j1"]["status"] = "canceled"
            return self.reply(200, self.jobs["j1"])
        if body["input"].get("top") == "x":
            return self.reply(400, {"title": "Bad Request", "status": 400, "detail": "at /top: want integer",
                                    "errors": [{"pointer": "/top", "message": "want integer"}]},
                              "application/problem+json")
        job = {"id": "j1", "algorithm": body["algorithm"], "status": "queued", "input": body["input"], "polls": 0}
        self.jobs["j1"] = job
        self.reply(202, job)

    def do_GET(self):
        self.requests.append(("GET", self.path, None, None))
        job = self.jobs.get("j1")
        if not self.path.startswith("/v1/jobs/j1") or job is None:
            return self.reply(404, {"title": "Not Found", "status": 404, "detail": "no such job"})
        if self.path.startswith("/v1/jobs/j1/logs"):
            return self.reply(200, {"logs": [{"stream": "stdout", "line": "hi"}]})
        job["polls"] += 1
        if job["polls"] >= 2 and job["status"] == "queued":
            job.update(status="succeeded", output={"words": 2})
        self.reply(200, job)


class ClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = HTTPServer(("127.0.0.1", 0), FakeAPI)
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.client = conveyor.Client("http://127.0.0.1:%d/" % cls.server.server_port, token="t0k")

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def setUp(self):
        FakeAPI.jobs.clear()
        FakeAPI.requests.clear()
        FakeAPI.traceparents.clear()

    def test_submit_wait_result(self):
        job = self.client.submit("word_count", {"text": "a b"}, wait=1.5, priority="high")
        self.assertEqual(job["status"], "queued")
        method, path, body, auth = FakeAPI.requests[0]
        self.assertEqual((method, path, auth), ("POST", "/v1/jobs?wait=1.5s", "Bearer t0k"))
        self.assertEqual(body, {"algorithm": "word_count", "input": {"text": "a b"}, "priority": "high"})
        done = self.client.wait(job["id"], timeout=10)
        self.assertEqual(done["output"], {"words": 2})
        self.assertTrue(FakeAPI.requests[-1][1].startswith("/v1/jobs/j1?wait="))
        self.assertEqual(self.client.logs("j1"), [{"stream": "stdout", "line": "hi"}])
        self.assertEqual(self.client.result("word_count", {"text": "a b"}, timeout=10), {"words": 2})

    def test_traceparent(self):
        tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        self.client.submit("word_count", {"text": "a"}, traceparent=tp)
        self.client.submit("word_count", {"text": "a"})
        self.assertEqual(FakeAPI.traceparents, [tp, None])
        self.assertNotIn("traceparent", FakeAPI.requests[0][2])

    def test_cancel_and_job_failed(self):
        self.client.submit("word_count", {"text": "a"})
        self.assertEqual(self.client.cancel("j1")["status"], "canceled")
        FakeAPI.jobs["j1"]["polls"] = -100
        self.assertEqual(self.client.wait("j1", timeout=5)["status"], "canceled")
        # result() raises JobFailed for a job that did not succeed.
        self.client.submit = lambda *args, **options: {"id": "j1"}
        try:
            with self.assertRaises(conveyor.JobFailed) as cm:
                self.client.result("word_count", {"text": "a"}, timeout=5)
        finally:
            del self.client.submit  # the client is shared by the tests
        self.assertEqual(cm.exception.job["status"], "canceled")

    def test_errors(self):
        with self.assertRaises(conveyor.APIError) as cm:
            self.client.submit("word_count", {"text": "a", "top": "x"})
        self.assertEqual(cm.exception.status, 400)
        self.assertEqual(cm.exception.problem["errors"][0]["pointer"], "/top")
        with self.assertRaises(conveyor.APIError) as cm:
            self.client.get("nope")
        self.assertEqual(cm.exception.status, 404)


class VerifyCallbackTest(unittest.TestCase):
    def test_known_answer(self):
        # printf '%s' '{"id":"01J","status":"succeeded"}' | openssl dgst -sha256 -hmac s3cret
        body = b'{"id":"01J","status":"succeeded"}'
        sig = "sha256=124f7c83e2e858a30224dbef734894d5d54b01bd14de1d6ea45887f0f3bc88a7"
        self.assertTrue(conveyor.verify_callback("s3cret", body, sig))
        self.assertTrue(conveyor.verify_callback(b"s3cret", body, sig))
        self.assertFalse(conveyor.verify_callback("other", body, sig))
        self.assertFalse(conveyor.verify_callback("s3cret", body + b" ", sig))
        self.assertFalse(conveyor.verify_callback("s3cret", body, sig[len("sha256="):]))
        self.assertFalse(conveyor.verify_callback("s3cret", body, None))


if __name__ == "__main__":
    unittest.main()
