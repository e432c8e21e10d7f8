package e2e

import (
	"context"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// scheduleJobs lists, through p, the jobs schedule name started, oldest
// first.
func scheduleJobs(t *testing.T, p *proc, name string) []*conveyor.JobSummary {
	t.Helper()
	var page conveyor.JobPage
	if code, err := p.call("GET", "/v1/jobs?label=schedule="+name+"&order=oldest&limit=200", "", &page); err != nil || code != 200 {
		t.Fatalf("list the jobs of %s: %d %v", name, code, err)
	}
	return page.Jobs
}

// spacedOut fails t if two of jobs were made less than min apart: a
// schedule fired twice for one period.
func spacedOut(t *testing.T, jobs []*conveyor.JobSummary, min time.Duration) {
	t.Helper()
	for i := 1; i < len(jobs); i++ {
		if gap := jobs[i].CreatedAt.Sub(jobs[i-1].CreatedAt); gap < min {
			t.Errorf("jobs %s and %s of one schedule made %v apart", jobs[i-1].ID, jobs[i].ID, gap)
		}
	}
}

// TestScheduleTwoGateways: with two gateways over one broker, an every-1s
// schedule starts exactly one job per period — each firing served by one
// gateway — and every job it counts is there.
func TestScheduleTwoGateways(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	addrs := testenv.FreeAddrs(t, 3)
	nats := "nats://" + addrs[0]
	startProc(t, []string{"broker", "--listen", addrs[0], "--data-dir", dir}, nil, "", "")
	startProc(t, []string{"runner", "--nats", nats}, []string{"CONVEYOR_ALGORITHMS=[{kind: go, workers: {max: 2}}]"}, "", "")
	g1 := startProc(t, []string{"gateway", "--nats", nats}, []string{"CONVEYOR_HTTP_ADDR=" + addrs[1]}, "", addrs[1])
	g2 := startProc(t, []string{"gateway", "--nats", nats}, []string{"CONVEYOR_HTTP_ADDR=" + addrs[2]}, "", addrs[2])
	testenv.Eventually(t, "is_prime registered", func() bool {
		code, _ := g1.call("GET", "/v1/algorithms/is_prime", "", nil)
		return code == 200
	})
	if code, err := g1.call("POST", "/v1/schedules", `{"name":"tick","algorithm":"is_prime","input":{"n":7},"every":"1s"}`, nil); err != nil || code != 201 {
		t.Fatalf("create: %d %v", code, err)
	}
	time.Sleep(6 * time.Second)
	if code, err := g2.call("DELETE", "/v1/schedules/tick", "", nil); err != nil || code != 204 {
		t.Fatalf("delete through the other gateway: %d %v", code, err)
	}
	time.Sleep(time.Second) // the last jobs land
	jobs := scheduleJobs(t, g2, "tick")
	if len(jobs) < 4 || len(jobs) > 7 {
		t.Errorf("an every-1s schedule made %d jobs in 6s", len(jobs))
	}
	spacedOut(t, jobs, 700*time.Millisecond)
	t.Logf("%d jobs in 6s with two gateways", len(jobs))
}

// TestScheduleKill9: kill -9 of serve while a schedule is due: the periods
// missed while it is down fire once at its start, never once each, and
// the schedule goes on.
func TestScheduleKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	dir, addr := t.TempDir(), testenv.FreeAddr(t)
	cfg := `
algorithms:
  - {kind: go, workers: {max: 2}}
schedules:
  - {name: tick, algorithm: is_prime, input: {n: 7}, every: 2s}
`
	p := serve(t, dir, addr, cfg)
	testenv.Eventually(t, "a first job", func() bool { return len(scheduleJobs(t, p, "tick")) >= 1 })
	p.kill(syscall.SIGKILL)
	down := time.Now()
	time.Sleep(5 * time.Second) // two periods or more missed
	p = serve(t, dir, addr, cfg)
	testenv.Eventually(t, "jobs after the restart", func() bool {
		jobs := scheduleJobs(t, p, "tick")
		return len(jobs) >= 3 && jobs[len(jobs)-1].CreatedAt.After(down.Add(7*time.Second))
	})
	jobs := scheduleJobs(t, p, "tick")
	spacedOut(t, jobs, 1500*time.Millisecond)
	for _, j := range jobs {
		if st := p.job(j.ID, "10s").Status; st != conveyor.StatusSucceeded {
			t.Errorf("job %s ended %s", j.ID, st)
		}
	}
}

// TestScheduleClusterLeaderKilled: on a 3-node cluster (R3), kill -9 of
// the node that leads the queue stream — whose scheduler fires the
// schedules and the delayed jobs — loses neither: the new leader fires
// the schedule on (a period that passed during the election fires once,
// never twice), and a delayed job due meanwhile runs once.
func TestScheduleClusterLeaderKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, t.TempDir(), 3)
	env := []string{"CONVEYOR_NATS_REPLICAS=3", "CONVEYOR_HEARTBEAT=500ms"}
	var gws []*proc
	for range 2 {
		addr := c.addr(t)
		gws = append(gws, startProc(t, []string{"gateway", "--nats", c.url}, append(slices.Clone(env), "CONVEYOR_HTTP_ADDR="+addr), "", addr))
	}
	startProc(t, []string{"runner", "--nats", c.url}, append(slices.Clone(env), "CONVEYOR_ALGORITHMS=[{kind: go, workers: {max: 4}}]"), "", "")
	testenv.Eventually(t, "is_prime registered", func() bool {
		code, _ := gws[1].call("GET", "/v1/algorithms/is_prime", "", nil)
		return code == 200
	})
	if code, err := gws[0].call("POST", "/v1/schedules", `{"name":"tick","algorithm":"is_prime","input":{"n":7},"every":"2s"}`, nil); err != nil || code != 201 {
		t.Fatalf("create: %d %v", code, err)
	}
	testenv.Eventually(t, "two jobs of the schedule", func() bool { return len(scheduleJobs(t, gws[1], "tick")) >= 2 })
	var delayed conveyor.Job
	if code, err := gws[1].call("POST", "/v1/jobs", `{"algorithm":"is_prime","input":{"n":11},"delay":"2s"}`, &delayed); err != nil || code != 202 {
		t.Fatalf("a delayed job: %d %v", code, err)
	}

	nc, err := nats.Connect(c.url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, broker.QueueStream)
	if err != nil {
		t.Fatal(err)
	}
	leader := st.CachedInfo().Cluster.Leader
	i := slices.IndexFunc([]string{"n1", "n2", "n3"}, func(n string) bool { return n == leader })
	if i < 0 {
		t.Fatalf("queue stream leader %q", leader)
	}
	c.nodes[i].kill(syscall.SIGKILL)
	killed := time.Now()
	t.Logf("killed %s, the queue stream's leader", leader)

	testenv.Eventually(t, "two jobs of the schedule after the kill", func() bool {
		n := 0
		for _, j := range scheduleJobs(t, gws[1], "tick") {
			if j.CreatedAt.After(killed) {
				n++
			}
		}
		return n >= 2
	})
	jobs := scheduleJobs(t, gws[1], "tick")
	spacedOut(t, jobs, 1200*time.Millisecond)
	for k := 1; k < len(jobs); k++ {
		t.Logf("job %d: %v after the one before", k, jobs[k].CreatedAt.Sub(jobs[k-1].CreatedAt).Round(10*time.Millisecond))
	}
	if j := gws[1].job(delayed.ID, "30s"); j.Status != conveyor.StatusSucceeded || j.Attempt != 1 {
		t.Errorf("the delayed job: %s after %d attempts", j.Status, j.Attempt)
	}
}
