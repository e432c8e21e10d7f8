package services

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/internal/backoff"
)

// Callbacks delivers completion callbacks: a service run by every process
// with a broker connection (gateways and runners alike), built for many
// such processes over one broker, any of which may die at any time:
//
//   - Whoever sees a final job whose callback is still pending queues the
//     job's id on the CONVEYOR_CALLBACKS work queue: the runner that ended
//     it (Ended), every gateway watching the job store (Note) — live, or
//     when it replays the store at start. The stream keeps one message per
//     job and refuses more, so however many queue it, one delivery is in
//     flight; and since a gateway queues a job again at every start until
//     its record says delivered or given up, a job that turned final while
//     its runner died is not forgotten.
//   - Noting a job never blocks: the ids wait in a set, one entry per job,
//     until the broker has them; a publish that fails (the broker is
//     failing over) is retried with backoff, not dropped.
//   - The processes share one durable pull consumer of that queue, so each
//     delivery goes to one of them. A process pulls a message only when it
//     has a free delivery slot, POSTs the job, records the attempt on the
//     job record (compare-and-swap), then acknowledges on success or gives
//     the message back with a delay — the backoff lives in the broker, not
//     in a process's memory.
//   - A delivery is leased for CallbackLease, and the process making it
//     renews the lease while it runs, however slow the receiver. A process
//     that dies mid-attempt stops renewing, and another retries within
//     CallbackLease.
//
// Delivery is at least once: a receiver may see a job twice (a process
// that died between its POST and its record update) and should treat the
// job id as an idempotency key.
type Callbacks struct {
	cfg    CallbackConfig
	b      *broker.Broker
	log    *slog.Logger
	client *http.Client

	mu      sync.Mutex          // guards pending
	pending map[string]struct{} // ids of final jobs to queue callbacks of
	wake    chan struct{}       // a token when pending has news

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sem    chan struct{} // bounds deliveries in flight
	// attempts counts delivery attempts by result: delivered, failed
	// (to be retried) or gave_up.
	attempts *prometheus.CounterVec
}

const (
	// maxDeliveries is how many callbacks one process POSTs at once.
	maxDeliveries = 16
	// CallbackLease is the AckWait of a delivery: how long it stays with
	// a process that stopped renewing it (died, or lost the broker)
	// before another may make it.
	CallbackLease = 6 * time.Second
	// callbackRenew is how often a running delivery renews its lease.
	callbackRenew = CallbackLease / 3
)

// retryBackoff spaces the tries of the service's loops while the broker
// fails them: 100 ms doubling up to 5 s, jittered.
var retryBackoff = backoff.Policy{Base: 100 * time.Millisecond, Max: 5 * time.Second}

// NewCallbacks returns a Callbacks service over b, not started. Its
// defaults: Timeout 10s, Backoff 1s, RetryFor 24h.
func NewCallbacks(cfg CallbackConfig, b *broker.Broker, log *slog.Logger) *Callbacks {
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultCallbackTimeout
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = DefaultCallbackBackoff
	}
	if cfg.RetryFor == 0 {
		cfg.RetryFor = DefaultCallbackRetryFor
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Callbacks{
		cfg: cfg, b: b, log: log,
		client: &http.Client{
			Timeout: cfg.Timeout,
			// A redirect could lead anywhere: the allow-list is the last word.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		pending: map[string]struct{}{},
		wake:    make(chan struct{}, 1),
		sem:     make(chan struct{}, maxDeliveries),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conveyor_callback_attempts_total", Help: "Completion callback POSTs made by this process, by result: delivered, failed (retried later) or gave_up.",
		}, []string{"result"}),
	}
}

// Start opens the callback queue and starts queueing and delivering.
func (d *Callbacks) Start(ctx context.Context) error {
	queue, err := d.b.CallbackQueue(ctx, CallbackLease)
	if err != nil {
		return err
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.wg.Add(2)
	go d.queueLoop()
	go d.pullLoop(queue)
	return nil
}

// Stop stops pulling, abandons deliveries in flight and gives back their
// messages (they go to another gateway at once), and waits for its
// goroutines. Jobs noted but not queued yet are queued by the next
// gateway to start.
func (d *Callbacks) Stop() {
	if d.cancel != nil {
		d.cancel()
	}
	d.wg.Wait()
}

// Ended queues the callback of j, a job the caller just made final, if it
// has one still pending. It never waits.
func (d *Callbacks) Ended(j *conveyor.Job) {
	if j == nil || !j.Status.Terminal() || !j.Callback.Pending() {
		return
	}
	d.add(j.ID)
}

// Collector returns the service's metrics, for a registry.
func (d *Callbacks) Collector() prometheus.Collector { return d.attempts }

// Note looks at the record of a job the watch saw turn final and, if
// its callback is pending, adds it to the jobs to queue. It never waits:
// it is called on the watch that feeds the gateway's views. Cheap for jobs
// without a callback.
func (d *Callbacks) Note(data []byte) {
	if !bytes.Contains(data, []byte(`"callback":{`)) {
		return
	}
	var j struct {
		ID       string             `json:"id"`
		Status   conveyor.Status    `json:"status"`
		Callback *conveyor.Callback `json:"callback"`
	}
	if json.Unmarshal(data, &j) != nil || !j.Status.Terminal() || !j.Callback.Pending() {
		return
	}
	d.add(j.ID)
}

// add adds job id to the jobs to queue, and wakes the queue loop.
func (d *Callbacks) add(id string) {
	d.mu.Lock()
	d.pending[id] = struct{}{}
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default: // a wake-up is due already
	}
}

// takePending empties the set of jobs to queue and returns them.
func (d *Callbacks) takePending() map[string]struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.pending) == 0 {
		return nil
	}
	ids := d.pending
	d.pending = map[string]struct{}{} // a fresh map: a drained one keeps its size
	return ids
}

// putBack returns ids whose queueing failed to the set.
func (d *Callbacks) putBack(ids map[string]struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id := range ids {
		d.pending[id] = struct{}{}
	}
}

// queueLoop puts noted jobs on the broker's callback queue, off the watch
// goroutine. While the broker refuses, it keeps them and tries again with
// backoff.
func (d *Callbacks) queueLoop() {
	defer d.wg.Done()
	failures := 0
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-d.wake:
		}
		ids := d.takePending()
		var err error
		for id := range ids {
			err = d.b.QueueCallback(d.ctx, id)
			if err != nil && conveyor.ErrorCode(err) != conveyor.EUNAVAILABLE {
				d.log.Warn("queue callback", "job", id, "err", err) // never will be
				err = nil
			}
			if err != nil {
				break
			}
			delete(ids, id)
		}
		if err == nil || d.ctx.Err() != nil {
			failures = 0
			continue
		}
		d.putBack(ids)
		delay := retryBackoff.Delay(failures)
		failures++
		d.log.Warn("queue callbacks", "jobs", len(ids), "err", err, "retry_in", delay)
		select {
		case <-time.After(delay):
		case <-d.ctx.Done():
			return
		}
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
}

// pullLoop takes a delivery from the queue whenever a slot is free, so
// that no message waits in this gateway, its lease running, for a slot.
func (d *Callbacks) pullLoop(queue *broker.Callbacks) {
	defer d.wg.Done()
	failures := 0
	for {
		select {
		case d.sem <- struct{}{}:
		case <-d.ctx.Done():
			return
		}
		id, lease, err := queue.Next(d.ctx)
		if err != nil {
			<-d.sem
			if d.ctx.Err() != nil {
				return
			}
			if errors.Is(err, broker.ErrNoLease) {
				failures = 0
				continue // nothing to deliver for a while: pull again
			}
			delay := retryBackoff.Delay(failures)
			failures++
			d.log.Warn("pull callbacks", "err", err, "retry_in", delay)
			select {
			case <-time.After(delay):
			case <-d.ctx.Done():
				return
			}
			continue
		}
		failures = 0
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			defer func() { <-d.sem }()
			renewed := d.renew(lease)
			s := d.deliver(id)
			renewed()
			s.apply(lease)
		}()
	}
}

// renew extends lease every callbackRenew until the function it returns
// is called, which returns once renewing has stopped.
func (d *Callbacks) renew(lease broker.Lease) func() {
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(callbackRenew)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_ = lease.Extend()
			case <-done:
				return
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// settle is what becomes of a delivery message after an attempt:
// acknowledged (done with), or given back for redelivery after retryIn.
type settle struct {
	ack     bool
	retryIn time.Duration
}

// apply acknowledges the delivery or gives it back.
func (s settle) apply(lease broker.Lease) {
	if s.ack {
		_ = lease.Ack()
		return
	}
	_ = lease.Retry(s.retryIn)
}

// errNotAllowed is the error of a callback whose host is no longer in
// the allow-list (the config changed since the submit): given up at once.
var errNotAllowed = errors.New("the callback host is not in callbacks.allow_hosts")

// errSettled aborts the record update of an attempt when another gateway
// settled the callback meanwhile.
var errSettled = errors.New("callback already settled")

// deliver makes one delivery attempt of the job msg names and says how to
// settle the message: ack when delivered, given up or moot; give it back
// with a delay otherwise.
func (d *Callbacks) deliver(id string) settle {
	ctx := d.ctx
	data, rev, err := d.b.GetJobRecord(ctx, id)
	if conveyor.ErrorCode(err) == conveyor.ENOTFOUND {
		return settle{ack: true} // expired or never was: nothing to deliver
	}
	if err != nil {
		if ctx.Err() != nil {
			return settle{} // stopping
		}
		return settle{retryIn: d.cfg.Backoff}
	}
	var j conveyor.Job
	if err := json.Unmarshal(data, &j); err != nil || !j.Status.Terminal() || !j.Callback.Pending() {
		return settle{ack: true}
	}
	// The body is the job as the API gives it: a payload kept in the
	// object store read into it (it is signed whole).
	body, err := d.b.JobJSON(ctx, data)
	if err != nil {
		if ctx.Err() != nil {
			return settle{}
		}
		d.log.Warn("read the job's payload for its callback", "job", id, "err", err)
		return settle{retryIn: d.cfg.Backoff}
	}
	status, postErr := d.post(ctx, &j, body)
	if refs := broker.Payloads(&j); len(refs) > 0 {
		// Each attempt rewrites the record, which then lives a retention
		// longer: so must its payloads.
		broker.KeepPayloads(context.WithoutCancel(ctx), d.b, refs, time.Now().Add(d.b.Config().Retention))
	}
	if postErr != nil && ctx.Err() != nil {
		return settle{} // stopping: another gateway makes this attempt now
	}
	now := time.Now().UTC()
	updated, _, err := d.b.UpdateJob(context.WithoutCancel(ctx), id, &j, rev, func(j *conveyor.Job) error {
		if !j.Callback.Pending() {
			return errSettled
		}
		c := *j.Callback
		c.Attempts++
		c.LastStatus, c.LastError = status, ""
		switch {
		case postErr == nil:
			c.DeliveredAt = &now
		case errors.Is(postErr, errNotAllowed), j.FinishedAt != nil && now.Sub(*j.FinishedAt) >= d.cfg.RetryFor:
			c.LastError = postErr.Error()
			c.GaveUpAt = &now
		default:
			c.LastError = postErr.Error()
		}
		j.Callback = &c
		return nil
	})
	if err == nil {
		switch c := updated.Callback; {
		case c.DeliveredAt != nil:
			d.attempts.WithLabelValues("delivered").Inc()
		case c.GaveUpAt != nil:
			d.attempts.WithLabelValues("gave_up").Inc()
		default:
			d.attempts.WithLabelValues("failed").Inc()
		}
	}
	switch {
	case errors.Is(err, errSettled):
		return settle{ack: true}
	case err != nil:
		d.log.Warn("record callback attempt", "job", id, "err", err)
		return settle{retryIn: d.cfg.Backoff}
	case updated.Callback.Pending():
		return settle{retryIn: d.cfg.backoff(updated.Callback.Attempts)}
	}
	if updated.Callback.GaveUpAt != nil {
		d.log.Warn("callback given up", "job", id, "attempts", updated.Callback.Attempts, "err", postErr)
	}
	return settle{ack: true}
}

// post sends the job record to its callback URL, signed, and returns the
// answer's status; an error unless it is 2xx.
func (d *Callbacks) post(ctx context.Context, j *conveyor.Job, body []byte) (int, error) {
	u, err := url.Parse(j.Callback.URL)
	if err != nil || !d.cfg.allowed(u) {
		return 0, errNotAllowed
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "conveyor/"+conveyor.Version)
	req.Header.Set("X-Conveyor-Job", j.ID)
	req.Header.Set("X-Conveyor-Attempt", strconv.Itoa(j.Callback.Attempts+1))
	req.Header.Set(conveyor.CallbackSignatureHeader, conveyor.SignCallback(d.cfg.Secret, body))
	resp, err := d.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is on the record already
		}
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}
