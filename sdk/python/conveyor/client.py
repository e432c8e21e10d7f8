"""A small client of Conveyor's HTTP API (standard library only)."""

import asyncio
import datetime
import functools
import hashlib
import hmac
import json
import os
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request

__all__ = ["Client", "AsyncClient", "APIError", "JobFailed", "AlgorithmFailed", "Unavailable", "RunTimeout"]

TERMINAL = ("succeeded", "failed", "canceled")


class APIError(Exception):
    """An HTTP error answer. ``status`` is the HTTP status, ``problem``
    the RFC 9457 problem (a dict; ``problem.get("errors")`` lists schema
    violations with their JSON pointers)."""

    def __init__(self, status, problem):
        self.status = status
        self.problem = problem
        super().__init__("%d %s" % (status, problem.get("detail") or problem.get("title") or ""))


class JobFailed(Exception):
    """Raised by Client.result for a job that failed or was canceled;
    ``job`` is the job."""

    def __init__(self, job):
        self.job = job
        err = job.get("error") or {}
        super().__init__("job %s %s: %s" % (job.get("id"), job.get("status"), err.get("message", "")))


class AlgorithmFailed(APIError):
    """Raised by Client.run when the algorithm failed (422): ``error`` is
    its error, a dict with type, message and detail."""

    def __init__(self, algorithm, status, problem):
        super().__init__(status, problem)
        self.algorithm = algorithm
        self.error = problem.get("error") or {}
        self.args = ("%s failed: %s" % (algorithm, self.error.get("message") or problem.get("detail") or ""),)


class Unavailable(APIError):
    """Raised by Client.run when nothing can run the call now: no runner
    serves the algorithm (503), or the service an http algorithm forwards
    to cannot be reached (502)."""


class RunTimeout(APIError, TimeoutError):
    """Raised by Client.run when the call did not finish within its
    timeout (504)."""


def _rfc3339(t):
    """Return t (a datetime, naive meaning UTC, or a string) as RFC 3339."""
    if t is None or isinstance(t, str):
        return t
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t.isoformat()


def _duration(seconds):
    if seconds is None:
        return None
    if isinstance(seconds, str):
        return seconds
    return "%gs" % seconds


class Client:
    """Client(url) talks to the Conveyor server at url (default
    http://127.0.0.1:8080), sending token (default $CONVEYOR_TOKEN) as a
    bearer token, trusting the CA certificates in cafile (default
    $CONVEYOR_CACERT) for an https url. Jobs are returned as dicts, as the
    API's JSON has them.
    Methods raise APIError for error answers and OSError when the server
    cannot be reached."""

    def __init__(self, url="http://127.0.0.1:8080", token=None, timeout=60.0, cafile=None):
        self.url = url.rstrip("/")
        self.token = token if token is not None else os.environ.get("CONVEYOR_TOKEN")
        self.timeout = timeout
        # An https server with a private CA or a self-signed certificate is
        # trusted with cafile (default $CONVEYOR_CACERT), a PEM file.
        cafile = cafile if cafile is not None else os.environ.get("CONVEYOR_CACERT")
        self._ssl = ssl.create_default_context(cafile=cafile) if cafile else None

    def _call(self, method, path, body=None, query=None, timeout=None, headers=None):
        url = self.url + path
        pairs = query.items() if isinstance(query, dict) else (query or [])
        q = [(k, v) for k, v in pairs if v is not None]
        if q:
            url += "?" + urllib.parse.urlencode(q)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout, context=self._ssl) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                problem = json.loads(raw)
            except ValueError:
                problem = {"title": e.reason, "detail": raw.decode("utf-8", "replace")[:500]}
            raise APIError(e.code, problem) from None

    def submit(self, algorithm, input, wait=None, traceparent=None, **options):
        """Submit a job of algorithm with input (a dict) and return the job.
        With wait (seconds, or a duration string such as "10s"), wait up to
        that long for it to finish. traceparent (a W3C trace context, such
        as job.traceparent in a handler) is sent as the traceparent header:
        the job continues that trace. options are the other fields of a
        submission: priority, mutex, idempotency_key, timeout,
        max_attempts, labels, requires (a dict of runner labels: only a
        runner with every one takes the job), and delay (seconds, or a
        duration string)
        or run_at (a datetime, naive meaning UTC, or an RFC 3339 string)
        for a job that is scheduled until then."""
        if "run_at" in options:
            options["run_at"] = _rfc3339(options["run_at"])
        body = dict(options, algorithm=algorithm, input=input)
        timeout = None
        if wait is not None:
            timeout = self.timeout + (wait if isinstance(wait, (int, float)) else 0)
        headers = {"traceparent": traceparent} if traceparent else None
        return self._call("POST", "/v1/jobs", body, {"wait": _duration(wait)}, timeout, headers)

    def upload(self, path, content_type=None):
        """Upload the file at path (streamed, never read whole) and return
        it: a dict with id, size, sha256, content_type and expires_at.
        Reference it in a job's input as ``{"$file": f["id"]}`` (or
        ``conveyor.File(f["id"]).ref()``). Raises APIError: 413 over the
        server's files.max_size."""
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            req = urllib.request.Request(self.url + "/v1/files", data=f, method="POST")
            req.add_header("Content-Type", content_type or "application/octet-stream")
            req.add_header("Content-Length", str(size))
            return self._send(req, self.timeout)

    def download(self, id, name, path=None):
        """Download to a local path (streamed) and return the size.

        ``download(job, name, path)`` downloads the artifact name of a job
        (its id, or the job dict); ``download(file_id, path)`` an uploaded
        file. Raises APIError: 404 for no such job, artifact or file (or
        another tenant's)."""
        if path is None:
            id, path = urllib.parse.quote(id, safe=""), name
            return self._download("/v1/files/" + id, path)
        if isinstance(id, dict):
            id = id["id"]
        return self._download("/v1/jobs/%s/artifacts/%s" % (urllib.parse.quote(id, safe=""), urllib.parse.quote(name, safe="")), path)

    def artifacts(self, job):
        """Return the artifacts of a job (its id, or the job dict, which is
        read again): a list of dicts with name, file, size, sha256 and
        content_type."""
        if isinstance(job, dict):
            job = job["id"]
        return self.get(job).get("artifacts") or []

    def _download(self, path_of_url, path):
        req = urllib.request.Request(self.url + path_of_url, method="GET")
        with self._open(req, self.timeout) as resp, open(path, "wb") as out:
            n = 0
            for block in iter(lambda: resp.read(1 << 16), b""):
                out.write(block)
                n += len(block)
        return n

    def _send(self, req, timeout):
        with self._open(req, timeout) as resp:
            return json.loads(resp.read() or b"null")

    def _open(self, req, timeout):
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            return urllib.request.urlopen(req, timeout=timeout, context=self._ssl)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                problem = json.loads(raw)
            except ValueError:
                problem = {"title": e.reason, "detail": raw.decode("utf-8", "replace")[:500]}
            raise APIError(e.code, problem) from None

    def submit_batch(self, jobs, traceparent=None):
        """Submit many jobs in one request and return them, in the order
        given. jobs is a list of dicts with the fields of a submission:
        algorithm and input, and any of priority, mutex, idempotency_key,
        timeout, max_attempts, labels, callback_url. At most 1000. The
        batch is accepted whole or not at all: an APIError names the job
        that was refused ("jobs[3]: ...")."""
        headers = {"traceparent": traceparent} if traceparent else None
        return self._call("POST", "/v1/jobs/batch", {"jobs": list(jobs)}, headers=headers)["jobs"]

    def get(self, id, wait=None):
        """Return the job id; with wait, long-poll up to that long for it
        to finish first."""
        timeout = self.timeout + (wait if isinstance(wait, (int, float)) else 0)
        return self._call("GET", "/v1/jobs/" + urllib.parse.quote(id), query={"wait": _duration(wait)}, timeout=timeout)

    def wait(self, id, timeout=None):
        """Wait until the job id is final (succeeded, failed or canceled)
        and return it. Raises TimeoutError after timeout seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = 30.0 if deadline is None else max(0.0, min(30.0, deadline - time.monotonic()))
            job = self.get(id, wait=round(step, 3))
            if job.get("status") in TERMINAL:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError("job %s is still %s" % (id, job.get("status")))

    def result(self, algorithm, input, timeout=None, **options):
        """Submit a job, wait for it and return its output. Raises JobFailed
        if it fails or is canceled."""
        job = self.submit(algorithm, input, **options)
        job = self.wait(job["id"], timeout)
        if job["status"] != "succeeded":
            raise JobFailed(job)
        return job.get("output")

    def cancel(self, id):
        """Cancel the job id and return it (a job already final is returned
        as it is)."""
        return self._call("POST", "/v1/jobs/%s/cancel" % urllib.parse.quote(id))

    def retry(self, id):
        """Retry the finished job id (failed, canceled or even succeeded) as
        a new job with its algorithm, input, priority, labels, requires, mutex key,
        timeout and attempts, and return the new job: its ``retry_of``
        names id. Raises APIError: 409 when the job is not finished yet,
        404 when there is no such job, 400 when its input no longer fits
        the algorithm's schema."""
        return self._call("POST", "/v1/jobs/%s/retry" % urllib.parse.quote(id))

    def schedules(self):
        """Return the recurring schedules, by name: each a dict with its
        definition and its next_at, last_at, last_job, fired and skipped."""
        return self._call("GET", "/v1/schedules")["schedules"]

    def create_schedule(self, name, algorithm, input=None, every=None, cron=None, **options):
        """Make a recurring schedule and return it: one job of algorithm
        with input every period (every: seconds or a duration string such
        as "5m") or at the times of cron (five fields; options may give its
        timezone), each labelled schedule=<name>. options are the other
        fields: timezone, priority, labels, requires, overlap ("skip", the default,
        or "allow"), paused."""
        body = dict(options, name=name, algorithm=algorithm, input=input if input is not None else {})
        if every is not None:
            body["every"] = _duration(every)
        if cron is not None:
            body["cron"] = cron
        return self._call("POST", "/v1/schedules", body)

    def delete_schedule(self, name):
        """Remove the schedule name; the jobs it started stay."""
        self._call("DELETE", "/v1/schedules/%s" % urllib.parse.quote(name))

    def pause_schedule(self, name):
        """Stop the schedule name from firing until resumed; return it."""
        return self._call("POST", "/v1/schedules/%s/pause" % urllib.parse.quote(name))

    def resume_schedule(self, name):
        """Let the paused schedule name fire again; return it."""
        return self._call("POST", "/v1/schedules/%s/resume" % urllib.parse.quote(name))

    def trigger_schedule(self, name):
        """Start one job of the schedule name now, and return the job."""
        return self._call("POST", "/v1/schedules/%s/trigger" % urllib.parse.quote(name))

    def run(self, algorithm, input, timeout=None):
        """Run algorithm on input on the synchronous path (nothing is
        stored: no job, no retries) and return its output. timeout
        (seconds, or a duration string) bounds the call on the server
        (default 30 s there). Raises AlgorithmFailed when the algorithm
        fails (its ``error`` says how), RunTimeout when it takes longer than
        timeout, Unavailable when no runner serves it, and APIError for an
        input the schema rejects (400) or an unknown algorithm (404)."""
        secs = timeout if isinstance(timeout, (int, float)) else 30.0
        path = "/v1/algorithms/%s/run" % urllib.parse.quote(algorithm)
        try:
            return self._call("POST", path, input, {"timeout": _duration(timeout)}, self.timeout + secs)
        except APIError as e:
            if e.status == 422:
                raise AlgorithmFailed(algorithm, e.status, e.problem) from None
            if e.status == 504:
                raise RunTimeout(e.status, e.problem) from None
            if e.status in (502, 503):
                raise Unavailable(e.status, e.problem) from None
            raise

    def list(self, algorithm=None, status=None, labels=None, since=None, limit=None, page_size=None):
        """Yield the summaries of the jobs that match, newest first, a page
        at a time: of algorithm; in status (a status, or a list of them);
        with every label of labels (a dict); created at or after since (a
        datetime, naive meaning UTC, or an RFC 3339 string). Stops after
        limit jobs (None: all of them). Summaries are dicts without input
        and output (use get for those)."""
        if isinstance(status, (list, tuple, set)):
            status = ",".join(status)
        base = [("algorithm", algorithm), ("status", status), ("created_after", _rfc3339(since))]
        base += [("label", "%s=%s" % kv) for kv in sorted((labels or {}).items())]
        cursor, left = None, limit
        while left is None or left > 0:
            size = page_size or min(500, left if left is not None else 100)
            page = self._call("GET", "/v1/jobs", query=base + [("limit", size), ("cursor", cursor)])
            for job in page.get("jobs") or []:
                if left is not None:
                    if left <= 0:
                        return
                    left -= 1
                yield job
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def events(self, id, last_event_id=None, idle_timeout=60.0):
        """Yield the events of job id as they happen, from its event stream
        (Server-Sent Events): dicts with "id", "event" (status, progress,
        log or end) and "data" (the decoded JSON). It stops after the end
        event, whose data is the final job. Pass the id of the last event
        seen as last_event_id to resume after it.

        The client's timeout bounds connecting and the answer's headers
        only: a job may run for hours without an event. The stream raises
        TimeoutError when nothing at all arrives for idle_timeout seconds
        (None: wait for ever); the server sends a keep-alive every 10 s,
        so only a dead connection stays that quiet."""
        req = urllib.request.Request(self.url + "/v1/jobs/%s/events" % urllib.parse.quote(id))
        req.add_header("Accept", "text/event-stream")
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        if last_event_id:
            req.add_header("Last-Event-ID", last_event_id)
        try:
            resp = urllib.request.urlopen(req, timeout=self.timeout, context=self._ssl)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                problem = json.loads(raw)
            except ValueError:
                problem = {"title": e.reason}
            raise APIError(e.code, problem) from None
        # From here the request timeout no longer applies: the socket waits
        # up to idle_timeout for the next line, keep-alives included.
        sock = getattr(getattr(getattr(resp, "fp", None), "raw", None), "_sock", None)
        if sock is not None:
            sock.settimeout(idle_timeout)
        with resp:
            event = {}
            for raw in resp:
                line = raw.decode("utf-8").rstrip("\r\n")
                if not line:
                    if "event" in event:
                        yield event
                        if event["event"] == "end":
                            return
                    event = {}
                elif line.startswith(":"):
                    continue
                else:
                    field, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if field == "data":
                        event["data"] = json.loads(value)
                    elif field in ("id", "event"):
                        event[field] = value

    def logs(self, id):
        """Return the log lines of job id: dicts with ts, stream, line."""
        return self._call("GET", "/v1/jobs/%s/logs" % urllib.parse.quote(id)).get("logs") or []

    def algorithms(self):
        """Return the algorithms the server serves: dicts with name, schemas,
        runners, queued and running, and unmet (the labels queued jobs
        require that no live runner has, and why)."""
        return self._call("GET", "/v1/algorithms").get("algorithms") or []


class AsyncClient:
    """AsyncClient(url, ...) is Client on asyncio: the same arguments and
    methods, each a coroutine (list and events are async iterators).

    Each request runs the blocking Client's call in the loop's default
    thread pool executor. The standard library has no asyncio HTTP client,
    and one written here would have to redo what urllib already does well
    (TLS with a private CA, proxies, chunked bodies, redirects); a request
    waiting on the network holds a thread, not the event loop, which suits
    a client's handful of calls at a time."""

    def __init__(self, *args, **kwargs):
        self.sync = Client(*args, **kwargs)

    async def _do(self, fn, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))

    async def submit(self, algorithm, input, wait=None, traceparent=None, **options):
        """See Client.submit."""
        return await self._do(self.sync.submit, algorithm, input, wait, traceparent, **options)

    async def submit_batch(self, jobs, traceparent=None):
        """See Client.submit_batch."""
        return await self._do(self.sync.submit_batch, jobs, traceparent)

    async def upload(self, path, content_type=None):
        """See Client.upload."""
        return await self._do(self.sync.upload, path, content_type)

    async def download(self, id, name, path=None):
        """See Client.download."""
        return await self._do(self.sync.download, id, name, path)

    async def artifacts(self, job):
        """See Client.artifacts."""
        return await self._do(self.sync.artifacts, job)

    async def get(self, id, wait=None):
        """See Client.get."""
        return await self._do(self.sync.get, id, wait)

    async def wait(self, id, timeout=None):
        """See Client.wait."""
        return await self._do(self.sync.wait, id, timeout)

    async def result(self, algorithm, input, timeout=None, **options):
        """See Client.result."""
        return await self._do(self.sync.result, algorithm, input, timeout, **options)

    async def cancel(self, id):
        """See Client.cancel."""
        return await self._do(self.sync.cancel, id)

    async def retry(self, id):
        """See Client.retry."""
        return await self._do(self.sync.retry, id)

    async def schedules(self):
        """See Client.schedules."""
        return await self._do(self.sync.schedules)

    async def create_schedule(self, name, algorithm, input=None, every=None, cron=None, **options):
        """See Client.create_schedule."""
        return await self._do(self.sync.create_schedule, name, algorithm, input, every, cron, **options)

    async def delete_schedule(self, name):
        """See Client.delete_schedule."""
        return await self._do(self.sync.delete_schedule, name)

    async def pause_schedule(self, name):
        """See Client.pause_schedule."""
        return await self._do(self.sync.pause_schedule, name)

    async def resume_schedule(self, name):
        """See Client.resume_schedule."""
        return await self._do(self.sync.resume_schedule, name)

    async def trigger_schedule(self, name):
        """See Client.trigger_schedule."""
        return await self._do(self.sync.trigger_schedule, name)

    async def run(self, algorithm, input, timeout=None):
        """See Client.run."""
        return await self._do(self.sync.run, algorithm, input, timeout)

    async def logs(self, id):
        """See Client.logs."""
        return await self._do(self.sync.logs, id)

    async def algorithms(self):
        """See Client.algorithms."""
        return await self._do(self.sync.algorithms)

    async def list(self, **filters):
        """See Client.list; an async iterator."""
        async for job in self._iterate(self.sync.list(**filters)):
            yield job

    async def events(self, id, last_event_id=None, idle_timeout=60.0):
        """See Client.events; an async iterator."""
        async for ev in self._iterate(self.sync.events(id, last_event_id, idle_timeout)):
            yield ev

    async def _iterate(self, gen):
        done = object()
        try:
            while True:
                item = await self._do(next, gen, done)
                if item is done:
                    return
                yield item
        finally:
            await self._do(gen.close)


def verify_callback(secret, body, signature):
    """Return whether signature, the X-Conveyor-Signature header of a
    completion callback, signs body (the bytes as received, before
    decoding) under secret (bytes or str): "sha256=" and the hex
    HMAC-SHA256 of the exact body. The comparison takes constant time."""
    if isinstance(secret, str):
        secret = secret.encode()
    if not isinstance(signature, str) or not signature.startswith("sha256="):
        return False
    want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature, want)
