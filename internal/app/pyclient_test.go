package app

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/runner/gokind"
)

// TestPythonClientEvents drives the real server with the Python SDK's
// client: submit, follow the job's events to the end, read the result.
func TestPythonClientEvents(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	script := fmt.Sprintf(`
import conveyor
c = conveyor.Client(%q)
job = c.submit("sleep", {"seconds": 0.5})
names = [e["event"] for e in c.events(job["id"])]
assert names[0] == "status" and names[-1] == "end", names
assert names.count("progress") >= 2, names
print("final", c.get(job["id"])["status"], len(names))
`, s.base)
	out, err := runPythonClient(t, script)
	if err != nil || !strings.Contains(out, "final succeeded") {
		t.Fatalf("python client: %v\n%s", err, out)
	}
}

// registerQuiet registers quiet, a Go algorithm that reports nothing for
// the seconds of its input, then returns.
var registerQuiet = sync.OnceFunc(func() {
	gokind.Register("quiet", func(ctx context.Context, in struct {
		Seconds float64 `json:"seconds"`
	}) (map[string]any, error) {
		t := time.NewTimer(time.Duration(in.Seconds * float64(time.Second)))
		defer t.Stop()
		select {
		case <-t.C: // the job's work: silence
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return map[string]any{"quiet": true}, nil
	})
})

// TestPythonClientQuietStream: the Python client's timeout bounds its
// requests, not the time between two events of a stream: following a job
// that reports nothing for longer than it does not time out.
func TestPythonClientQuietStream(t *testing.T) {
	registerQuiet()
	s := startServer(t, testConfig(t, t.TempDir()))
	script := fmt.Sprintf(`
import conveyor
c = conveyor.Client(%q, timeout=0.5)
job = c.submit("quiet", {"seconds": 2})
names = [e["event"] for e in c.events(job["id"])]
assert names[0] == "status" and names[-1] == "end", names
print("final", c.get(job["id"])["status"])
`, s.base)
	out, err := runPythonClient(t, script)
	if err != nil || !strings.Contains(out, "final succeeded") {
		t.Fatalf("python client following a quiet job: %v\n%s", err, out)
	}
}

// runPythonClient runs a Python script with the SDK on its PYTHONPATH and
// the extra environment variables env, and returns its combined output
// and exit error. A script still running after requestTimeout is killed
// and fails the test: a client that waits for ever must not hang it.
func runPythonClient(t *testing.T, script string, env ...string) (string, error) {
	t.Helper()
	py := testenv.Python(t)
	sdk, err := filepath.Abs("../../sdk/python")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", script)
	cmd.Env = append(append(cmd.Environ(), "PYTHONPATH="+sdk), env...)
	cmd.WaitDelay = 5 * time.Second // a child holding the output pipe cannot hang Wait either
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the Python client was still running after %v, and was killed:\n%s", requestTimeout, out)
	}
	return string(out), err
}

// TestPythonClientBatch submits a batch with the Python SDK's client and
// waits for every job; a batch with a bad job raises an APIError that names
// it, and queues nothing.
func TestPythonClientBatch(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	script := fmt.Sprintf(`
import conveyor
c = conveyor.Client(%q)
jobs = c.submit_batch([{"algorithm": "is_prime", "input": {"n": n}} for n in (4, 5, 6)])
print("outputs", [c.wait(j["id"], timeout=30)["output"]["prime"] for j in jobs])
try:
    c.submit_batch([{"algorithm": "is_prime", "input": {"n": 1}}, {"algorithm": "is_prime", "input": {"n": "x"}}])
except conveyor.APIError as e:
    print("refused", e.status, e.problem["detail"].split(":")[0], e.problem["errors"][0]["pointer"])
print("listed", len(c._call("GET", "/v1/jobs")["jobs"]))
`, s.base)
	out, err := runPythonClient(t, script)
	want := "outputs [False, True, False]\nrefused 400 jobs[1] /jobs/1/input/n\nlisted 3\n"
	if err != nil || out != want {
		t.Fatalf("python client: %v\n%s\nwant\n%s", err, out, want)
	}
}

// TestPythonClientListRunCancel drives the real server with the Python
// SDK's Client and AsyncClient: the synchronous path and its errors, job
// lists with filters over several pages, and cancel.
func TestPythonClientListRunCancel(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	script := fmt.Sprintf(`
import asyncio, datetime
import conveyor
c = conveyor.Client(%q)

assert c.run("sleep", {"seconds": 0}) is not None
try:
    c.run("sleep", {"seconds": 0, "fail": "no luck"})
    raise SystemExit("no AlgorithmFailed")
except conveyor.AlgorithmFailed as e:
    assert e.status == 422 and e.error["message"] == "no luck", (e, e.error)
try:
    c.run("sleep", {"seconds": 5}, timeout=0.3)
    raise SystemExit("no RunTimeout")
except conveyor.RunTimeout as e:
    assert e.status == 504 and isinstance(e, TimeoutError), e
try:
    c.run("nope", {})
    raise SystemExit("no 404")
except conveyor.APIError as e:
    assert e.status == 404, e

before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
ids = [c.submit("sleep", {"seconds": 0}, labels={"team": "a"})["id"] for _ in range(3)]
ids.append(c.submit("sleep", {"seconds": 0}, labels={"team": "b"})["id"])
for i in ids:
    assert c.wait(i, timeout=20)["status"] == "succeeded"
a = list(c.list(labels={"team": "a"}, page_size=1))
assert sorted(j["id"] for j in a) == sorted(ids[:3]), a
assert "input" not in a[0], a[0]
two = list(c.list(algorithm="sleep", status=["succeeded", "failed"], since=before, limit=2, page_size=1))
assert len(two) == 2 and all(j["status"] == "succeeded" for j in two), two
assert list(c.list(since=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))) == []

# A job that requires labels no runner has waits, and the algorithm says why.
routed = c.submit("sleep", {"seconds": 0}, requires={"gpu": "h100"})
assert routed["requires"] == {"gpu": "h100"} and routed["status"] == "queued", routed
unmet = next(a for a in c.algorithms() if a["name"] == "sleep")["unmet"]
assert unmet == [{"requires": {"gpu": "h100"}, "queued": 1, "reason": "no live runner of sleep has labels gpu=h100"}], unmet
c.cancel(routed["id"])

long = c.submit("sleep", {"seconds": 30})
c.cancel(long["id"])
assert c.wait(long["id"], timeout=20)["status"] == "canceled"
again = c.retry(long["id"])
assert again["retry_of"] == long["id"] and again["id"] != long["id"] and again["input"] == {"seconds": 30}, again
try:
    c.retry(again["id"])
    raise SystemExit("no 409 for a job not finished")
except conveyor.APIError as e:
    assert e.status == 409, e
c.cancel(again["id"])

async def main():
    ac = conveyor.AsyncClient(%q)
    outs = await asyncio.gather(*(ac.run("sleep", {"seconds": 0.2}) for _ in range(4)))
    assert len(outs) == 4
    seen = [j["id"] async for j in ac.list(labels={"team": "b"})]
    assert seen == [ids[3]], seen
    job = await ac.submit("sleep", {"seconds": 30})
    await ac.cancel(job["id"])
    assert (await ac.wait(job["id"], timeout=20))["status"] == "canceled"
    short = await ac.retry(ids[0])
    assert short["retry_of"] == ids[0], short
    assert (await ac.wait(short["id"], timeout=20))["status"] == "succeeded"
    try:
        await ac.run("sleep", {"seconds": 0, "fail": "async luck"})
    except conveyor.AlgorithmFailed as e:
        assert e.error["message"] == "async luck"
    names = [e["event"] async for e in ac.events(ids[0])]
    assert names[-1] == "end", names
asyncio.run(main())
print("client ok")
`, s.base, s.base)
	out, err := runPythonClient(t, script)
	if err != nil || !strings.Contains(out, "client ok") {
		t.Fatalf("python client: %v\n%s", err, out)
	}
}

// TestPythonClientSchedules: the Python client submits a delayed job and
// makes, lists, pauses, triggers and deletes a schedule, on the real
// server — with Client and AsyncClient.
func TestPythonClientSchedules(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	script := fmt.Sprintf(`
import asyncio, datetime, conveyor
c = conveyor.Client(%q)
later = c.submit("is_prime", {"n": 7}, delay=3600)
assert later["status"] == "scheduled", later
at = c.submit("is_prime", {"n": 7}, run_at=datetime.datetime.utcnow() + datetime.timedelta(hours=1))
assert at["status"] == "scheduled" and at["run_at"].startswith(str(datetime.datetime.utcnow().year)), at
sc = c.create_schedule("nightly", "is_prime", {"n": 7}, cron="0 2 * * *", timezone="Europe/Paris", labels={"team": "ml"})
assert sc["next_at"] and sc["overlap"] == "skip", sc
assert [x["name"] for x in c.schedules()] == ["nightly"]
assert c.pause_schedule("nightly")["paused"] is True
job = c.trigger_schedule("nightly")
assert job["labels"]["schedule"] == "nightly", job
try:
    c.create_schedule("bad", "is_prime", {"n": 7}, cron="61 * * * *")
    raise SystemExit("an invalid cron was taken")
except conveyor.APIError as e:
    assert e.status == 400 and "cron" in str(e), e
async def main():
    a = conveyor.AsyncClient(%q)
    await a.create_schedule("often", "is_prime", {"n": 9}, every=60)
    names = [x["name"] for x in await a.schedules()]
    await a.delete_schedule("often")
    return names
assert asyncio.run(main()) == ["nightly", "often"]
c.delete_schedule("nightly")
assert c.schedules() == []
print("schedules ok")
`, s.base, s.base)
	out, err := runPythonClient(t, script)
	if err != nil || !strings.Contains(out, "schedules ok") {
		t.Fatalf("python client: %v\n%s", err, out)
	}
}
