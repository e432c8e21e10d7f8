package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

// handleSubmitBatch is POST /v1/jobs/batch: the body is a BatchRequest,
// many jobs of any algorithms, for a client that has many to submit — one
// request, and their writes in flight together, instead of a round trip
// each. Every job is checked first, and one that would be refused alone
// refuses the whole batch, naming it ("jobs[3]: …", schema violations at
// /jobs/3/input/…), with nothing stored; so does an idempotency key used
// before by a different request (409), found before any job is queued, so
// that no job of a refused batch ever runs. Then all are queued, and the
// answer is 202 with the jobs in the order given; a job whose idempotency
// key was used before by the same request is that earlier job. Should the
// broker not take the whole batch, the jobs it took are taken back and the
// answer is 503: a batch is accepted whole or not at all.
func (g *Gateway) handleSubmitBatch(w http.ResponseWriter, r *http.Request) {
	var req conveyor.BatchRequest
	if err := g.decodeBody(w, r, &req); err != nil {
		g.writeError(w, r, err)
		return
	}
	switch {
	case len(req.Jobs) == 0:
		g.writeError(w, r, conveyor.Errorf(conveyor.EINVALID, "jobs is empty"))
		return
	case len(req.Jobs) > conveyor.MaxBatch:
		g.writeError(w, r, conveyor.Errorf(conveyor.EINVALID, "a batch holds at most %d jobs; this one has %d", conveyor.MaxBatch, len(req.Jobs)))
		return
	}
	jobs, err := g.newJobs(r, req.Jobs)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	recs, err := g.storeMany(r.Context(), jobs)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"jobs":[`))
	for i, rec := range recs {
		if i > 0 {
			_, _ = w.Write([]byte{','})
		}
		if err := g.writePayloaded(r.Context(), w, rec); err != nil {
			return
		}
	}
	_, _ = w.Write([]byte("]}\n"))
}

// newJobs checks each request of a batch as a submit of its own would be
// checked, and builds its job; the first refusal refuses them all.
func (g *Gateway) newJobs(r *http.Request, reqs []conveyor.SubmitRequest) ([]*conveyor.Job, error) {
	tenant, all := tenantOf(r.Context())
	tp := traceparent(r)
	jobs := make([]*conveyor.Job, len(reqs))
	perAlgorithm := map[string]int{}
	for i, req := range reqs {
		if err := mayUse(r.Context(), req.Algorithm); err != nil {
			return nil, inBatch(i, err)
		}
		j, err := g.newJob(req)
		if err == nil {
			err = g.checkRequestFiles(r.Context(), j.Input)
		}
		if err != nil {
			return nil, inBatch(i, err)
		}
		if !all {
			j.Tenant = tenant
		}
		j.Traceparent = tp
		jobs[i] = j
		perAlgorithm[j.Algorithm]++
	}
	// newJob saw each job alone against its algorithm's max_queued.
	for name, n := range perAlgorithm {
		alg, err := g.reg.algorithm(name)
		if err == nil && alg.MaxQueued > 0 && g.jobs.countOf(name, conveyor.StatusQueued)+n > alg.MaxQueued {
			return nil, conveyor.Errorf(conveyor.EFULL, "the queue of %s cannot take %d more jobs (max_queued %d); try again later", name, n, alg.MaxQueued)
		}
	}
	return jobs, nil
}

// inBatch names the job of a batch that err refuses: in its message
// ("jobs[3]: …") and in its violations, whose pointers are into the
// request body (/jobs/3/input/…), or, with none, one at the job itself
// (/jobs/3) — so that a client can tell which job without reading text.
func inBatch(i int, err error) error {
	var ce *conveyor.Error
	if !errors.As(err, &ce) {
		return err
	}
	at := "/jobs/" + strconv.Itoa(i)
	out := &conveyor.Error{Code: ce.Code, Message: fmt.Sprintf("jobs[%d]: %s", i, ce.Message), Err: ce.Err}
	within := at + "/input"
	if fe := (*fieldError)(nil); errors.As(err, &fe) {
		within = at // about the job's request, not its input
	}
	for _, v := range ce.Details {
		out.Details = append(out.Details, conveyor.Violation{Pointer: within + v.Pointer, Message: v.Message})
	}
	if len(out.Details) == 0 {
		out.Details = []conveyor.Violation{{Pointer: at, Message: ce.Message}}
	}
	return out
}

// storeMany queues the jobs of a batch and returns their records, in
// order. It decides first and queues after: every job with a mutex or an
// idempotency key is claimed (stored, its key bound or found bound) before
// any job of the batch is queued or joins a mutex line, so a refusal — a
// key bound to another request — leaves nothing that could run, and the
// claims made so far are undone. Then jobs with neither key, the common
// case, are queued together, each held by its message alone (see store),
// and the claimed ones one by one. Should the broker fail midway (503),
// what was queued is taken back; a job a runner took in that moment may
// have started.
func (g *Gateway) storeMany(ctx context.Context, jobs []*conveyor.Job) ([]record, error) {
	perTenant := map[string]int{}
	for _, j := range jobs {
		perTenant[j.Tenant]++
	}
	for tenant, n := range perTenant {
		if err := g.mayTake(ctx, tenant, n); err != nil {
			return nil, err
		}
	}
	ctx = context.WithoutCancel(ctx) // as in store: no half-done batch
	for _, j := range jobs {
		if _, err := broker.StoreInput(ctx, g.b, j); err != nil {
			g.dropPayloads(ctx, jobs...)
			return nil, err
		}
	}
	recs, err := g.storeManyStored(ctx, jobs)
	if err != nil {
		g.dropPayloads(ctx, jobs...)
		return nil, err
	}
	for i, j := range jobs {
		if recs[i].id != j.ID {
			g.dropPayloads(ctx, j) // an earlier job's, by its idempotency key
		}
	}
	return recs, nil
}

// storeManyStored is storeMany, once the jobs' large inputs are stored.
func (g *Gateway) storeManyStored(ctx context.Context, jobs []*conveyor.Job) ([]record, error) {
	recs := make([]record, len(jobs))
	var plain []broker.Stored
	var at []int // index in jobs of each of plain
	var claimed []broker.Stored
	var undo []uint64
	var undoJobs []string
	fail := func(err error) ([]record, error) {
		for _, seq := range undo {
			_ = g.b.DeleteQueued(ctx, seq)
		}
		for _, id := range undoJobs {
			// A runner drops a message with no record, and the mutex
			// keeper passes on a key whose holder is gone.
			g.undo(ctx, id)
		}
		return nil, err
	}
	for i, j := range jobs {
		if j.Mutex == "" && j.IdempotencyKey == "" && j.Status != conveyor.StatusScheduled {
			if s, err := broker.Unstored(j); err == nil {
				s.Origin = g.origin
				plain = append(plain, s)
				at = append(at, i)
				continue
			}
		}
		stored, rec, existed, err := g.claim(ctx, j)
		if err != nil {
			return fail(err)
		}
		if !existed {
			undoJobs = append(undoJobs, j.ID)
			claimed = append(claimed, stored)
		}
		recs[i] = rec
	}
	seqs, err := g.b.EnqueueMany(ctx, plain)
	for _, seq := range seqs {
		if seq != 0 {
			undo = append(undo, seq)
		}
	}
	if err != nil {
		return fail(err)
	}
	for _, s := range claimed {
		if err := g.enqueueClaimed(ctx, s); err != nil {
			return fail(err)
		}
	}
	for _, s := range claimed {
		g.jobs.hear(s.Job.ID)
		g.indexStored(s)
	}
	now := time.Now()
	for k, s := range plain {
		g.indexSubmitted(s.Job, s.Data(), now, seqs[k])
		recs[at[k]] = record{data: s.Data(), id: s.Job.ID, status: s.Job.Status, tenant: s.Job.Tenant}
	}
	for _, s := range plain {
		g.cfg.Metrics.Submitted.WithLabelValues(s.Job.Algorithm).Inc()
	}
	for _, s := range claimed {
		g.cfg.Metrics.Submitted.WithLabelValues(s.Job.Algorithm).Inc()
	}
	return recs, nil
}
