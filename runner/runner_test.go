package runner

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/broker/brokertest"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
	"github.com/conveyor-run/conveyor/metrics"
)

// testHandlers are the handlers of the algorithms of kind "test", by
// name: each test registers its own, under names of its own.
var testHandlers sync.Map

func init() { RegisterKind("test", testKind{}) }

// testKind serves an entry's name with the handler a test registered.
type testKind struct{}

func (testKind) Provision(_ context.Context, entry config.Algorithm) ([]Served, error) {
	h, ok := testHandlers.Load(entry.Name)
	if !ok {
		return nil, fmt.Errorf("no test handler %q", entry.Name)
	}
	return []Served{{Algorithm: conveyor.Algorithm{Name: entry.Name, Kind: "test", MaxAttempts: entry.MaxAttempts}, Handler: h.(Handler)}}, nil
}

// startRunner starts a runner of the test algorithms handlers holds, each
// with workers slots, and stops it when the test ends.
func startRunner(t *testing.T, b *broker.Broker, workers int, handlers map[string]Handler) *Runner {
	t.Helper()
	var algs []config.Algorithm
	for name, h := range handlers {
		testHandlers.Store(name, h)
		algs = append(algs, config.Algorithm{Name: name, Kind: "test", Workers: config.Workers{Max: workers}, MaxAttempts: 1})
	}
	r, err := New(t.Context(), Config{Broker: b, Algorithms: algs, Metrics: metrics.New()})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// scrape returns the value of the sample named name, labels included as
// the exposition format writes them, and whether there is one.
func scrape(t *testing.T, m *metrics.Metrics, sample string) (float64, bool) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", sc.Text(), err)
			}
			return f, true
		}
	}
	return 0, false
}

// TestQueueWait: the queue wait of an attempt counts from when its job was
// queued for the algorithm, not from when the job was made: neither the
// earlier stages of a pipeline nor the time before the job's message was
// published (here an hour, as in a mutex key's line) are waits in this
// queue.
func TestQueueWait(t *testing.T) {
	_, b := brokertest.Open(t)
	echo := HandlerFunc(func(_ context.Context, t *Task) (json.RawMessage, error) { return t.Input, nil })
	r := startRunner(t, b, 1, map[string]Handler{"qw_first": echo, "qw_second": echo})

	j := &conveyor.Job{ID: "queue-wait", Algorithm: "qw_pipeline", Status: conveyor.StatusQueued, Input: []byte(`{}`),
		MaxAttempts: 1, CreatedAt: time.Now().Add(-time.Hour).UTC()}
	j.EnterPipeline(conveyor.Pipeline{Stages: []string{"qw_first", "qw_second"}})
	s, err := b.CreateJob(t.Context(), j)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Enqueue(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the job to succeed", func() bool {
		j, _, err := b.GetJob(t.Context(), "queue-wait")
		return err == nil && j.Status == conveyor.StatusSucceeded
	})
	for _, alg := range []string{"qw_first", "qw_second"} {
		labels := `{algorithm="` + alg + `"}`
		n, _ := scrape(t, r.cfg.Metrics, "conveyor_queue_wait_seconds_count"+labels)
		sum, _ := scrape(t, r.cfg.Metrics, "conveyor_queue_wait_seconds_sum"+labels)
		if n != 1 || sum >= (30*time.Minute).Seconds() {
			t.Errorf("%s: %g waits of %gs in all, want one, without the hour before the job was queued", alg, n, sum)
		}
	}
}

// TestCallsAnsweredAtStop: every call the runner received before it
// stopped is answered, whether it was running, waiting for a slot, or not
// yet handed to the pool, so that no caller waits out its deadline for an
// answer that never comes.
func TestCallsAnsweredAtStop(t *testing.T) {
	_, b := brokertest.Open(t)
	release := make(chan struct{})
	block := HandlerFunc(func(_ context.Context, t *Task) (json.RawMessage, error) {
		<-release
		return t.Input, nil
	})
	r := startRunner(t, b, 1, map[string]Handler{"calls_stop": block})
	var sub *nats.Subscription
	for _, s := range r.subs {
		if s, ok := s.(*nats.Subscription); ok && s.Subject == broker.CallSubject("calls_stop") {
			sub = s
		}
	}
	if sub == nil {
		t.Fatal("no subscription to the algorithm's calls")
	}

	// One call runs, four wait for the slot, one waits to be handed over
	// and the rest wait in the subscription: those four are its pending.
	const calls = 9
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	answers := make(chan error, calls)
	for i := range calls {
		go func() {
			msg := nats.NewMsg(broker.CallSubject("calls_stop"))
			msg.Data = fmt.Appendf(nil, `{"i":%d}`, i)
			resp, err := b.Conn().RequestMsgWithContext(ctx, msg)
			if err == nil {
				if je := broker.CallFailed(resp); je != nil {
					err = je
				}
			}
			answers <- err
		}()
	}
	testenv.Eventually(t, "calls to wait in the subscription", func() bool {
		n, _, _ := sub.Pending()
		return n >= 4
	})

	stopped := make(chan struct{})
	go func() { r.Stop(); close(stopped) }()
	testenv.Eventually(t, "the runner to stop taking calls", func() bool { return !sub.IsValid() || sub.IsDraining() })
	close(release)
	for range calls {
		if err := <-answers; err != nil {
			t.Errorf("a call received before the runner stopped: %v", err)
		}
	}
	<-stopped
}
