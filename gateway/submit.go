package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

// Limits on what a client controls in a submit.
const (
	maxIdempotencyKey = 256
	maxMutexKey       = 256
	maxLabels         = 32
	maxLabelLen       = 256
	maxAttemptsLimit  = 100
)

// handleSubmit is POST /v1/jobs: the body is a SubmitRequest.
func (g *Gateway) handleSubmit(w http.ResponseWriter, r *http.Request) {
	var req conveyor.SubmitRequest
	if err := g.decodeBody(w, r, &req); err != nil {
		g.writeError(w, r, err)
		return
	}
	g.submit(w, r, req)
}

// handleSubmitInput is POST /v1/algorithms/{name}/jobs: the body is the
// input alone; options come from the query string.
func (g *Gateway) handleSubmitInput(w http.ResponseWriter, r *http.Request) {
	body, err := g.readBody(w, r)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	if err := checkQueryUTF8(q); err != nil {
		g.writeError(w, r, err)
		return
	}
	req := conveyor.SubmitRequest{
		Algorithm:      r.PathValue("name"),
		Input:          bytes.TrimSpace(body),
		Priority:       conveyor.Priority(q.Get("priority")),
		IdempotencyKey: q.Get("idempotency_key"),
		Mutex:          q.Get("mutex"),
		CallbackURL:    q.Get("callback_url"),
	}
	if req.Requires, err = conveyor.ParseRequirements(q.Get("requires")); err != nil {
		g.writeError(w, r, pointed("/requires", strings.TrimPrefix(err.Error(), "requires: ")))
		return
	}
	if err := checkDepth(req.Input); err != nil {
		g.writeError(w, r, err)
		return
	}
	if err := checkUTF8(req.Input); err != nil {
		g.writeError(w, r, err)
		return
	}
	if len(req.Input) > 0 && !json.Valid(req.Input) {
		g.writeError(w, r, conveyor.Errorf(conveyor.EINVALID, "malformed JSON in the request body"))
		return
	}
	if v := q.Get("timeout"); v != "" {
		if err := req.Timeout.UnmarshalText([]byte(v)); err != nil {
			g.writeError(w, r, conveyor.Errorf(conveyor.EINVALID, "timeout: %v", err))
			return
		}
	}
	if v := q.Get("delay"); v != "" {
		if err := req.Delay.UnmarshalText([]byte(v)); err != nil {
			g.writeError(w, r, conveyor.Errorf(conveyor.EINVALID, "delay: %v", err))
			return
		}
	}
	if v := q.Get("run_at"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			g.writeError(w, r, conveyor.Errorf(conveyor.EINVALID, "run_at must be an RFC 3339 time like 2026-01-02T15:04:05Z, not %q", v))
			return
		}
		req.RunAt = &t
	}
	if v := q.Get("max_attempts"); v != "" {
		if req.MaxAttempts, err = strconv.Atoi(v); err != nil {
			g.writeError(w, r, conveyor.Errorf(conveyor.EINVALID, "max_attempts must be an integer"))
			return
		}
	}
	g.submit(w, r, req)
}

// submit validates, stores and queues one job, then answers 202 — or 200
// with the finished job when ?wait= is given and it finishes in time.
func (g *Gateway) submit(w http.ResponseWriter, r *http.Request, req conveyor.SubmitRequest) {
	ctx := r.Context()
	wait, err := g.waitParam(r)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	if err := mayUse(r.Context(), req.Algorithm); err != nil {
		g.writeError(w, r, err)
		return
	}
	job, err := g.newJob(req)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	if tenant, all := tenantOf(r.Context()); !all {
		job.Tenant = tenant
	}
	if err := g.checkRequestFiles(ctx, job.Input); err != nil {
		g.writeError(w, r, err)
		return
	}
	job.Traceparent = traceparent(r)
	var waiting *waiter
	if wait > 0 {
		var stop func()
		waiting, stop = g.jobs.waitTerminal(job.ID)
		defer stop()
	}
	rec, existed, err := g.store(ctx, job)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	if existed {
		// The same request was made before with this idempotency key.
		if wait > 0 && !rec.status.Terminal() {
			earlyHints(w, r, rec.id)
			rec = g.await(ctx, rec, wait)
		}
		g.writeRecord(w, r, http.StatusOK, rec)
		return
	}
	g.cfg.Metrics.Submitted.WithLabelValues(job.Algorithm).Inc()
	w.Header().Set("Location", "/v1/jobs/"+job.ID)
	status := http.StatusAccepted
	if wait > 0 {
		earlyHints(w, r, job.ID)
		if rec = g.awaitOn(ctx, rec, waiting, wait); rec.status.Terminal() {
			status = http.StatusOK
		}
	}
	g.writeRecord(w, r, status, rec)
}

// earlyHints tells a client that waits for the job with id, as soon as it
// is accepted, where the job is: a 103 Early Hints response with its
// Location, before the final answer, so that a client that gives up or
// dies while waiting still knows it. Clients that do not look at 1xx
// responses skip it (Go's net/http client, curl, browsers).
//
// Clients that would take the 103 for the answer get none: HTTP/1.0 ones,
// and Python's http.client (urllib, requests, urllib3), which skips a
// 100 Continue only and would fail the submit.
func earlyHints(w http.ResponseWriter, r *http.Request, id string) {
	if !r.ProtoAtLeast(1, 1) || no1xx(r.UserAgent()) {
		return
	}
	w.Header().Set("Location", "/v1/jobs/"+id)
	w.WriteHeader(http.StatusEarlyHints)
}

// no1xx reports whether the User-Agent ua is of a client known to take an
// informational response other than 100 Continue for the final answer.
func no1xx(ua string) bool {
	for _, p := range []string{"Python-urllib/", "python-requests/", "python-urllib3/"} {
		if strings.HasPrefix(ua, p) {
			return true
		}
	}
	return false
}

// newJob checks a request against the registry and the algorithm's schema
// and builds the job it asks for. Nothing is stored yet.
func (g *Gateway) newJob(req conveyor.SubmitRequest) (*conveyor.Job, error) {
	if conveyor.ValidateName(req.Algorithm) != nil {
		if req.Algorithm == "" {
			return nil, conveyor.Errorf(conveyor.EINVALID, "algorithm is required")
		}
		return nil, conveyor.Errorf(conveyor.ENOTFOUND, "unknown algorithm %q", req.Algorithm)
	}
	alg, err := g.reg.algorithm(req.Algorithm)
	if err != nil {
		return nil, err
	}
	if alg.err != nil {
		return nil, conveyor.Errorf(conveyor.EUNAVAILABLE, "algorithm %s has an invalid input schema: %v", req.Algorithm, alg.err)
	}
	if alg.MaxQueued > 0 && g.jobs.countOf(alg.Name, conveyor.StatusQueued) >= alg.MaxQueued {
		return nil, conveyor.Errorf(conveyor.EFULL, "the queue of %s is full (max_queued %d); try again later", alg.Name, alg.MaxQueued)
	}
	if len(req.Input) == 0 || string(req.Input) == "null" {
		req.Input = json.RawMessage(`{}`)
	}
	if err := alg.input.Validate(req.Input); err != nil {
		return nil, err
	}
	prio, err := conveyor.ParsePriority(string(req.Priority))
	if err != nil {
		return nil, err
	}
	switch {
	case len(req.Mutex) > maxMutexKey:
		return nil, conveyor.Errorf(conveyor.EINVALID, "mutex is longer than %d bytes", maxMutexKey)
	case len(req.IdempotencyKey) > maxIdempotencyKey:
		return nil, conveyor.Errorf(conveyor.EINVALID, "idempotency_key is longer than %d bytes", maxIdempotencyKey)
	case req.MaxAttempts < 0 || req.MaxAttempts > maxAttemptsLimit:
		return nil, conveyor.Errorf(conveyor.EINVALID, "max_attempts must be between 1 and %d", maxAttemptsLimit)
	case req.Timeout < 0:
		return nil, conveyor.Errorf(conveyor.EINVALID, "timeout must not be negative")
	case len(req.Labels) > maxLabels:
		return nil, conveyor.Errorf(conveyor.EINVALID, "at most %d labels", maxLabels)
	}
	for k, v := range req.Labels {
		if k == "" || len(k) > maxLabelLen || len(v) > maxLabelLen {
			return nil, conveyor.Errorf(conveyor.EINVALID, "label keys must be 1–%d bytes and values at most %d", maxLabelLen, maxLabelLen)
		}
	}
	if err := req.Requires.Validate(); err != nil {
		return nil, pointed("/requires", strings.TrimPrefix(err.Error(), "requires: "))
	}
	var callback *conveyor.Callback
	if req.CallbackURL != "" {
		if err := g.cfg.Callbacks.CheckURL(req.CallbackURL); err != nil {
			return nil, err
		}
		callback = &conveyor.Callback{URL: req.CallbackURL}
	}
	maxAttempts := req.MaxAttempts
	if maxAttempts == 0 {
		maxAttempts = alg.MaxAttempts
	}
	if maxAttempts == 0 {
		maxAttempts = conveyor.DefaultMaxAttempts
	}
	input, err := compactInput(req.Input)
	if err != nil {
		return nil, err
	}
	j := &conveyor.Job{
		ID:             ulid.Make().String(),
		Algorithm:      req.Algorithm,
		Status:         conveyor.StatusQueued,
		Input:          input,
		MaxAttempts:    maxAttempts,
		Timeout:        req.Timeout,
		Priority:       prio,
		Mutex:          req.Mutex,
		IdempotencyKey: req.IdempotencyKey,
		Labels:         req.Labels,
		Requires:       req.Requires,
		CreatedAt:      time.Now().UTC(),
		Callback:       callback,
	}
	if alg.Pipeline != nil {
		j.EnterPipeline(*alg.Pipeline)
	}
	if err := g.schedule(j, req); err != nil {
		return nil, err
	}
	return j, nil
}

// schedule makes j scheduled when req asks for a later start (delay or
// run_at): a time already past queues it at once, one beyond the broker's
// retention is refused (the job would expire before it ran).
func (g *Gateway) schedule(j *conveyor.Job, req conveyor.SubmitRequest) error {
	var at time.Time
	switch {
	case req.Delay != 0 && req.RunAt != nil:
		return pointed("/delay", "give delay or run_at, not both")
	case req.Delay < 0:
		return pointed("/delay", "delay must not be negative")
	case req.Delay > 0:
		at = j.CreatedAt.Add(req.Delay.Std())
	case req.RunAt != nil:
		at = req.RunAt.UTC()
	default:
		return nil
	}
	if !at.After(j.CreatedAt) {
		return nil
	}
	field := "/run_at"
	if req.Delay != 0 {
		field = "/delay"
	}
	if retention := g.b.Config().Retention; at.Sub(j.CreatedAt) > retention {
		return pointed(field, fmt.Sprintf("%s is beyond the retention of %s: the job would expire before it ran", at.Format(time.RFC3339), retention))
	}
	j.Status, j.RunAt = conveyor.StatusScheduled, &at
	return nil
}

// pointed is an EINVALID error about the submit request's field at
// pointer (not its input: see inBatch).
func pointed(pointer, msg string) error {
	return &fieldError{&conveyor.Error{Code: conveyor.EINVALID, Message: pointer[1:] + ": " + msg, Details: []conveyor.Violation{{Pointer: pointer, Message: msg}}}}
}

// fieldError is an error about a field of a submit request, whose
// pointers are into the request rather than into its input.
type fieldError struct{ err *conveyor.Error }

func (e *fieldError) Error() string { return e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

// store queues the job — storing its record first when it has a mutex or
// an idempotency key, binding the key — and returns the record as queued. When the key is already bound to an
// equal request it returns that job's record instead, with existed true,
// and stores nothing; bound to a different request, ECONFLICT. A job is
// accepted only when both writes are acknowledged; if queueing fails the
// record is removed again, so a rejected submit leaves nothing behind.
//
// A large input is stored in the object store first (see
// broker.StoreInput), and removed again when the job is not accepted or
// is an earlier one's.
func (g *Gateway) store(ctx context.Context, j *conveyor.Job) (rec record, existed bool, err error) {
	if err := g.mayTake(ctx, j.Tenant, 1); err != nil {
		return record{}, false, err
	}
	// Writes go on even if the client hangs up: a half-done submit is worse.
	ctx = context.WithoutCancel(ctx)
	if _, err := broker.StoreInput(ctx, g.b, j); err != nil {
		return record{}, false, err
	}
	rec, existed, err = g.storeStored(ctx, j)
	if err != nil || existed {
		g.dropPayloads(ctx, j)
	}
	return rec, existed, err
}

// storeStored is store, once the job's large input is stored.
func (g *Gateway) storeStored(ctx context.Context, j *conveyor.Job) (rec record, existed bool, err error) {
	if j.Mutex == "" && j.IdempotencyKey == "" && j.Status != conveyor.StatusScheduled {
		// The common case: one write. The queue message holds the job
		// until its runner (or a cancel) creates its record; this gateway
		// knows it at once, others as they follow the queue.
		if unstored, err := broker.Unstored(j); err == nil {
			unstored.Origin = g.origin
			seq, err := g.b.EnqueueAt(ctx, unstored)
			if err != nil {
				return record{}, false, err
			}
			g.indexSubmitted(j, unstored.Data(), time.Now(), seq)
			return record{data: unstored.Data(), id: j.ID, status: j.Status}, false, nil
		}
	}
	stored, rec, existed, err := g.claim(ctx, j)
	if err != nil || existed {
		return rec, existed, err
	}
	if err := g.enqueueClaimed(ctx, stored); err != nil {
		g.undo(ctx, j.ID)
		return record{}, false, err
	}
	g.jobs.hear(j.ID)
	g.indexStored(stored)
	return rec, false, nil
}

// claim stores the record of a job with a mutex or an idempotency key and
// binds its idempotency key, but queues nothing: a job waiting for its
// mutex key is on no queue, and an idempotency key is bound to a stored
// job, so these are stored first. When the key is already bound to an
// equal request it returns that job's record, with existed true, and
// stores nothing; bound to a different request, ECONFLICT, and the record
// is removed again. A claimed job runs only once enqueueClaimed queues
// it; until then, deleting its record undoes the claim (the next claim
// of its key binds the key anew).
func (g *Gateway) claim(ctx context.Context, j *conveyor.Job) (stored broker.Stored, rec record, existed bool, err error) {
	stored, err = g.b.CreateJob(ctx, j)
	if err != nil {
		return broker.Stored{}, record{}, false, err
	}
	if j.IdempotencyKey != "" {
		digest := requestDigest(j)
		bound, boundDigest, claimed, err := g.b.ClaimIdempotencyKey(ctx, j.Tenant, j.IdempotencyKey, j.ID, digest)
		if err != nil || !claimed {
			g.undo(ctx, j.ID)
		}
		if err != nil {
			return broker.Stored{}, record{}, false, err
		}
		if !claimed {
			if boundDigest != digest {
				return broker.Stored{}, record{}, false, conveyor.Errorf(conveyor.ECONFLICT, "idempotency key %q was used for a different request (job %s)", j.IdempotencyKey, bound)
			}
			rec, err := g.read(ctx, bound)
			return broker.Stored{}, rec, err == nil, err
		}
	}
	return stored, record{data: stored.Data(), id: j.ID, status: j.Status}, false, nil
}

// enqueueClaimed puts a claimed job on the queue — or, with a mutex key,
// in the line of its key: queued now if the key is free, else in its turn;
// a scheduled job is handed to the broker's scheduler, which queues it at
// its time.
func (g *Gateway) enqueueClaimed(ctx context.Context, s broker.Stored) error {
	if s.Job.Status == conveyor.StatusScheduled {
		return g.b.ScheduleJob(ctx, s)
	}
	if s.Job.Mutex != "" {
		return g.b.JoinMutex(ctx, s)
	}
	return g.b.Enqueue(ctx, s)
}

// requestDigest identifies what a submit asked for, to tell a retry of the
// same request from a different request reusing an idempotency key.
func requestDigest(j *conveyor.Job) string {
	data, _ := json.Marshal(struct {
		Algorithm   string            `json:"a"`
		Input       json.RawMessage   `json:"i"`
		Priority    conveyor.Priority `json:"p"`
		Mutex       string            `json:"x,omitempty"`
		MaxAttempts int               `json:"m"`
		Timeout     conveyor.Duration `json:"t"`
		Labels      map[string]string `json:"l"`
		Tenant      string            `json:"n"`
		Callback    string            `json:"c,omitempty"`
		Requires    string            `json:"r,omitempty"`
	}{j.Algorithm, j.Input, j.Priority, j.Mutex, j.MaxAttempts, j.Timeout, j.Labels, j.Tenant, callbackURL(j), j.Requires.Canonical()})
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func callbackURL(j *conveyor.Job) string {
	if j.Callback == nil {
		return ""
	}
	return j.Callback.URL
}

// decodeBody reads a JSON body into v strictly: within the size limit, no
// unknown fields, nothing after the value.
func (g *Gateway) decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	data, err := g.readBody(w, r)
	if err != nil {
		return err
	}
	if err := decodeBytes(data, v); err != nil {
		if p := badTiming(data); p != nil {
			return p
		}
		return err
	}
	return nil
}

// badTiming finds, in a submit or batch body the decoder refused, a delay
// or run_at that is not a duration or a time, and returns an error that
// points at it; nil when there is none (the decoder's errors name no
// field).
func badTiming(data []byte) error {
	type timing struct {
		Delay json.RawMessage `json:"delay"`
		RunAt json.RawMessage `json:"run_at"`
	}
	var body struct {
		timing
		Jobs []timing `json:"jobs"`
	}
	if json.Unmarshal(data, &body) != nil {
		return nil
	}
	check := func(at string, t timing) error {
		var d conveyor.Duration
		if t.Delay != nil {
			if err := d.UnmarshalJSON(t.Delay); err != nil {
				return pointed(at+"/delay", err.Error())
			}
		}
		var when time.Time
		if t.RunAt != nil && string(t.RunAt) != "null" {
			if when.UnmarshalJSON(t.RunAt) != nil {
				return pointed(at+"/run_at", fmt.Sprintf("run_at must be an RFC 3339 time like \"2026-01-02T15:04:05Z\", not %s", t.RunAt))
			}
		}
		return nil
	}
	if err := check("", body.timing); err != nil {
		return err
	}
	for i, t := range body.Jobs {
		if err := check("/jobs/"+strconv.Itoa(i), t); err != nil {
			return err
		}
	}
	return nil
}

// decodeBytes is decodeJSON of data, refused first if it nests deeper
// than maxJSONDepth or has a string that is not valid UTF-8.
func decodeBytes(data []byte, v any) error {
	if err := checkDepth(data); err != nil {
		return err
	}
	if err := checkUTF8(data); err != nil {
		return err
	}
	if len(data) >= largeBody {
		return decodeLarge(data, v)
	}
	return decodeJSON(bytes.NewReader(data), v)
}

// decodeJSON reads one JSON value from r into v strictly: no unknown
// fields, nothing after the value. Errors are EINVALID, but for a body over
// its limit (*http.MaxBytesError), returned as is.
func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return conveyor.Errorf(conveyor.EINVALID, "the request body is empty")
		}
		return conveyor.Errorf(conveyor.EINVALID, "malformed JSON in the request body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return conveyor.Errorf(conveyor.EINVALID, "malformed JSON in the request body: data after the JSON value")
	}
	return nil
}
