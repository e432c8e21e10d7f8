package gateway

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
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

// deliverer delivers completion callbacks. It is built for many gateways
// over one broker, any of which may die at any time:
//
//   - Every gateway watches the job store. When it sees a final job whose
//     callback is still pending — live, or when it replays the store at
//     start — it queues the job's id on the CONVEYOR_CALLBACKS work queue.
//     The stream keeps one message per job and refuses more, so however
//     many gateways queue it, one delivery is in flight; and since a job
//     is queued again at every gateway start until its record says
//     delivered or given up, a job that turned final while no gateway ran
//     is not forgotten.
//   - The gateways share one durable pull consumer of that queue, so each
//     delivery goes to one gateway. It POSTs the job, records the attempt
//     on the job record (compare-and-swap), then acknowledges on success
//     or gives the message back with NakWithDelay — the backoff lives in
//     the broker, not in a gateway's memory. A gateway that dies mid-
//     attempt never acknowledges; after AckWait another gateway retries.
//
// Delivery is at least once: a receiver may see a job twice (a gateway
// that died between its POST and its record update) and should treat the
// job id as an idempotency key.
type deliverer struct {
	cfg    CallbackConfig
	b      *broker.Broker
	log    *slog.Logger
	client *http.Client
	queue  chan string // ids of final jobs with a pending callback

	ctx    context.Context
	cancel context.CancelFunc
	cc     jetstream.ConsumeContext
	wg     sync.WaitGroup
	sem    chan struct{} // bounds deliveries in flight
	// attempts counts delivery attempts by result: delivered, failed
	// (to be retried) or gave_up.
	attempts *prometheus.CounterVec
}

// maxDeliveries is how many callbacks one gateway POSTs at once.
const maxDeliveries = 16

func newDeliverer(cfg CallbackConfig, b *broker.Broker, log *slog.Logger) *deliverer {
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = time.Second
	}
	if cfg.RetryFor == 0 {
		cfg.RetryFor = 24 * time.Hour
	}
	return &deliverer{
		cfg: cfg, b: b, log: log,
		client: &http.Client{
			Timeout: cfg.Timeout,
			// A redirect could lead anywhere: the allow-list is the last word.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		queue: make(chan string, 1024),
		sem:   make(chan struct{}, maxDeliveries),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conveyor_callback_attempts_total", Help: "Completion callback POSTs made by this gateway, by result: delivered, failed (retried later) or gave_up.",
		}, []string{"result"}),
	}
}

// Start opens the callback queue and starts queueing and delivering.
func (d *deliverer) Start(ctx context.Context) error {
	cons, err := d.b.CallbackQueue(ctx, d.cfg.Timeout+30*time.Second)
	if err != nil {
		return err
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.wg.Add(1)
	go d.queueLoop()
	d.cc, err = cons.Consume(d.receive, jetstream.PullMaxMessages(2*maxDeliveries))
	if err != nil {
		d.Stop()
		return fmt.Errorf("consume callbacks: %w", err)
	}
	return nil
}

// Stop stops pulling, abandons deliveries in flight and gives back the
// messages it holds (they go to another gateway at once), and waits for
// its goroutines.
func (d *deliverer) Stop() {
	if d.cancel != nil {
		d.cancel() // first: a receive waiting for a slot gives up
	}
	if d.cc != nil {
		// Drain, not Stop: messages already pulled into the buffer go
		// through receive, which gives them back now; stopped, they would
		// wait out AckWait before another gateway could have them. And no
		// receive may start a delivery once Wait below has begun.
		d.cc.Drain()
		select {
		case <-d.cc.Closed():
		case <-time.After(5 * time.Second):
			d.log.Warn("callback consumer did not stop in 5s")
		}
	}
	d.wg.Wait()
}

// note looks at a job record the watch delivered and queues its callback
// if the job is final and its callback pending. Cheap for jobs without one.
func (d *deliverer) note(data []byte) {
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
	select {
	case d.queue <- j.ID:
	case <-d.ctx.Done():
	}
}

// queueLoop puts noted jobs on the broker's callback queue, off the watch
// goroutine.
func (d *deliverer) queueLoop() {
	defer d.wg.Done()
	for {
		select {
		case <-d.ctx.Done():
			return
		case id := <-d.queue:
			if err := d.b.QueueCallback(d.ctx, id); err != nil && d.ctx.Err() == nil {
				// The next gateway start replays the store and queues it again.
				d.log.Warn("queue callback", "job", id, "err", err)
			}
		}
	}
}

// receive hands a message to a delivery goroutine, at most maxDeliveries
// at once.
func (d *deliverer) receive(msg jetstream.Msg) {
	select {
	case d.sem <- struct{}{}:
	case <-d.ctx.Done():
		_ = msg.Nak()
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer func() { <-d.sem }()
		d.deliver(msg)
	}()
}

// errNotAllowed is the error of a callback whose host is no longer in
// the allow-list (the config changed since the submit): given up at once.
var errNotAllowed = errors.New("the callback host is not in callbacks.allow_hosts")

// errSettled aborts the record update of an attempt when another gateway
// settled the callback meanwhile.
var errSettled = errors.New("callback already settled")

// deliver makes one delivery attempt of the job msg names and settles the
// message: ack when delivered, given up or moot; NakWithDelay otherwise.
func (d *deliverer) deliver(msg jetstream.Msg) {
	ctx := d.ctx
	id := strings.TrimPrefix(msg.Subject(), "conveyor.callbacks.")
	data, rev, err := d.b.GetJobRecord(ctx, id)
	if conveyor.ErrorCode(err) == conveyor.ENOTFOUND {
		_ = msg.Ack() // expired or never was: nothing to deliver
		return
	}
	if err != nil {
		_ = msg.NakWithDelay(d.cfg.Backoff)
		return
	}
	var j conveyor.Job
	if err := json.Unmarshal(data, &j); err != nil || !j.Status.Terminal() || !j.Callback.Pending() {
		_ = msg.Ack()
		return
	}
	status, postErr := d.post(ctx, &j, data)
	if postErr != nil && ctx.Err() != nil {
		_ = msg.Nak() // stopping: another gateway makes this attempt
		return
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
		_ = msg.Ack()
	case err != nil:
		d.log.Warn("record callback attempt", "job", id, "err", err)
		_ = msg.NakWithDelay(d.cfg.Backoff)
	case updated.Callback.Pending():
		_ = msg.NakWithDelay(d.cfg.backoff(updated.Callback.Attempts))
	default:
		if updated.Callback.GaveUpAt != nil {
			d.log.Warn("callback given up", "job", id, "attempts", updated.Callback.Attempts, "err", postErr)
		}
		_ = msg.Ack()
	}
}

// post sends the job record to its callback URL, signed, and returns the
// answer's status; an error unless it is 2xx.
func (d *deliverer) post(ctx context.Context, j *conveyor.Job, body []byte) (int, error) {
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
	req.Header.Set(SignatureHeader, SignCallback(d.cfg.Secret, body))
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
