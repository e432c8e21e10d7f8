package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestFaults runs `conveyor serve` with go, exec and worker algorithms
// under a steady load of a job every 20ms and, until a few hundred jobs
// are accepted and each kind of process has been hit several times, kills
// with SIGKILL worker processes and exec children (found through /proc
// as children of serve) and once serve itself, restarting it on the same
// data dir. At the end every accepted job is final, every succeeded job
// has the result of its own input, and none is lost or stuck running.
// The faults end on counts, not on a clock, so a slow machine runs the
// test longer rather than with fewer jobs.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes for tens of seconds")
	}
	python := testenv.Python(t)
	testdata, _ := filepath.Abs("testdata")
	dir, addr := t.TempDir(), testenv.FreeAddr(t)
	cfg := fmt.Sprintf(`
heartbeat: 300ms
shutdown_grace: 1s
algorithms:
  - {kind: go, workers: {max: 4}}
  - {name: double, kind: exec, command: [%[1]s, %[2]s/double.py], workers: {max: 4}}
  - {kind: worker, command: [%[1]s, -m, conveyor.worker, faulty], env: {PYTHONPATH: %[2]s}, workers: {min: 2, max: 2}}
`, python, testdata)
	p := serve(t, dir, addr, cfg)

	// The load: one job every 20ms, by turns of each kind, each with an n
	// of its own whose result the check recomputes.
	type sent struct {
		algorithm string
		n         int
	}
	var (
		mu          sync.Mutex
		accepted    = map[string]sent{}
		refused     int
		lastRefusal string // why the last refused submit was refused
	)
	stopLoad := make(chan struct{})
	loadDone := make(chan struct{})
	base := p.base // the same address after the restart; p itself is replaced
	var stopOnce sync.Once
	stop := func() { stopOnce.Do(func() { close(stopLoad); <-loadDone }) }
	t.Cleanup(stop) // also when the test fails half way
	go func() {
		defer close(loadDone)
		algs := []string{"is_prime", "double", "triple", "is_prime"}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stopLoad:
				return
			case <-tick.C:
			}
			s := sent{algs[i%len(algs)], 1000 + i}
			body := fmt.Sprintf(`{"algorithm":%q,"input":{"n":%d},"max_attempts":10}`, s.algorithm, s.n)
			resp, err := httpClient.Post(base+"/v1/jobs", "application/json", strings.NewReader(body))
			if err != nil {
				mu.Lock()
				refused++ // serve is down: never accepted
				lastRefusal = err.Error()
				mu.Unlock()
				continue
			}
			var j conveyor.Job
			err = json.NewDecoder(resp.Body).Decode(&j)
			resp.Body.Close()
			mu.Lock()
			if resp.StatusCode == 202 && err == nil {
				accepted[j.ID] = s
			} else {
				refused++
				lastRefusal = fmt.Sprintf("status %d, %v", resp.StatusCode, err)
			}
			mu.Unlock()
		}
	}()

	// The faults: every 300ms a worker process or an exec child, and serve
	// itself once, when half the jobs are in; until all of them are in and
	// each kind of process has been killed wantKills times.
	const (
		wantAccepted = 500
		wantKills    = 5
		// giveUp only turns a load or a fault loop that stalls into a
		// failure; the test takes seconds.
		giveUp = 3 * time.Minute
	)
	acceptedSoFar := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(accepted)
	}
	kills := map[string]int{}
	start := time.Now()
	pace := time.NewTicker(300 * time.Millisecond)
	defer pace.Stop()
	for range pace.C {
		n := acceptedSoFar()
		if n >= wantAccepted && kills["serve"] > 0 && kills["worker"] >= wantKills && kills["exec"] >= wantKills {
			break
		}
		select {
		case <-p.done: // only the test kills serve, and it restarts it at once
			t.Fatalf("conveyor serve exited during the faults (%d jobs accepted, kills %v):\n%s", n, kills, tail(p.logs.String()))
		default:
		}
		if time.Since(start) > giveUp {
			mu.Lock()
			r, why := refused, lastRefusal
			mu.Unlock()
			t.Fatalf("after %v of faults: %d jobs accepted, %d refused (the last: %s), kills %v; want %d jobs and %d kills of worker processes and of exec children\nserve's log ends:\n%s",
				giveUp, n, r, why, kills, wantAccepted, wantKills, tail(p.logs.String()))
		}
		if kills["serve"] == 0 && n >= wantAccepted/2 {
			p.kill(syscall.SIGKILL)
			kills["serve"]++
			p = serve(t, dir, addr, cfg)
			continue
		}
		kind := "worker"
		if rand.IntN(2) == 0 {
			kind = "exec"
		}
		if pid := randomChild(p.cmd.Process.Pid, kind); pid != 0 && syscall.Kill(pid, syscall.SIGKILL) == nil {
			kills[kind]++
		}
	}
	stop()
	chaosTook := time.Since(start)

	// Every accepted job ends, with the result of its own input.
	mu.Lock()
	defer mu.Unlock()
	statuses := map[conveyor.Status]int{}
	lost, retried := 0, 0
	deadline := time.Now().Add(60 * time.Second)
	for id, s := range accepted {
		var j conveyor.Job
		for {
			code, err := p.call("GET", "/v1/jobs/"+id+"?wait=10s", "", &j)
			if err != nil {
				t.Fatal(err)
			}
			if code == 404 {
				lost++
				break
			}
			if j.Status.Terminal() || time.Now().After(deadline) {
				break
			}
		}
		statuses[j.Status]++
		if j.Attempt > 1 {
			retried++
		}
		if j.Status != conveyor.StatusSucceeded {
			continue
		}
		want := map[string]string{
			"is_prime": fmt.Sprintf(`"n":%d`, s.n),
			"double":   fmt.Sprintf(`{"n":%d}`, 2*s.n),
			"triple":   fmt.Sprintf(`{"n":%d}`, 3*s.n),
		}[s.algorithm]
		if !bytes.Contains(j.Output, []byte(want)) {
			t.Errorf("job %s (%s of %d) succeeded with output %s, want %s", id, s.algorithm, s.n, j.Output, want)
		}
	}
	t.Logf("%d jobs accepted (%d refused while serve was down) in %s; kills: %d worker processes, %d exec children, %d serve; final: %v; %d retried; lost %d",
		len(accepted), refused, chaosTook.Round(time.Millisecond), kills["worker"], kills["exec"], kills["serve"], statuses, retried, lost)
	if lost > 0 || statuses[conveyor.StatusRunning] > 0 || statuses[conveyor.StatusQueued] > 0 {
		t.Fatalf("lost %d, running %d, queued %d after the faults", lost, statuses[conveyor.StatusRunning], statuses[conveyor.StatusQueued])
	}
	if retried == 0 {
		t.Fatalf("the faults hit no job: kills %v, none retried", kills)
	}
}

// randomChild returns a child of pid that is a worker process (kind
// "worker": its command line runs conveyor.worker) or an exec child (any
// other child), chosen at random, or 0 if there is none right now. A
// child of serve that is a supervisor (see spawn.Start) stands for the
// processes it started: those are the ones a fault kills.
func randomChild(pid int, kind string) int {
	var found []int
	for _, child := range programsOf(pid) {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", child))
		if err == nil && strings.Contains(string(cmdline), "conveyor.worker") == (kind == "worker") {
			found = append(found, child)
		}
	}
	if len(found) == 0 {
		return 0
	}
	return found[rand.IntN(len(found))]
}

// programsOf returns the children of pid, each supervisor among them
// replaced by its own children.
func programsOf(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var found []int
	for _, f := range tasks {
		data, _ := os.ReadFile(f)
		for _, field := range strings.Fields(string(data)) {
			child, _ := strconv.Atoi(field)
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", child))
			if strings.HasPrefix(string(cmdline), "conveyor:supervise\x00") {
				found = append(found, programsOf(child)...)
			} else {
				found = append(found, child)
			}
		}
	}
	return found
}
