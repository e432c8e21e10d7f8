package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/jobindex"
)

// handleRetry is POST /v1/jobs/{id}/retry: a new job with the final job's
// algorithm, input, priority, labels, tenant, mutex key, timeout and
// attempts, and retry_of naming it; 202 with the new job. The input is
// checked against the algorithm's schema as it is now. A job not final
// yet is 409, as is one whose stored input is gone; an unknown job, or
// another tenant's, 404.
func (g *Gateway) handleRetry(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rec, err := g.read(ctx, r.PathValue("id"))
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	j, err := g.retryJob(ctx, rec.data, traceparent(r))
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	recs, err := g.storeMany(ctx, []*conveyor.Job{j})
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/jobs/"+j.ID)
	g.writeRecord(w, r, http.StatusAccepted, recs[0])
}

// retryJob builds, from the record data of a final job, the job that
// retries it; nothing is stored yet. It returns ECONFLICT for a job not
// final, EFORBIDDEN when the request's token may not use its algorithm,
// and newJob's errors (the algorithm gone, the input no longer valid).
func (g *Gateway) retryJob(ctx context.Context, data []byte, traceparent string) (*conveyor.Job, error) {
	var old conveyor.Job
	if err := json.Unmarshal(data, &old); err != nil {
		return nil, err
	}
	if !old.Status.Terminal() {
		return nil, conveyor.Errorf(conveyor.ECONFLICT, "job %s is %s: only a finished job can be retried", old.ID, old.Status)
	}
	if err := mayUse(ctx, old.Algorithm); err != nil {
		return nil, err
	}
	if old.InputRef != nil {
		// Kept in the object store: the retry gets a copy of its own,
		// which its delete removes (see store).
		in, err := broker.ReadPayload(ctx, g.b, old.InputRef)
		if conveyor.ErrorCode(err) == conveyor.ENOTFOUND {
			return nil, conveyor.Errorf(conveyor.ECONFLICT, "job %s's input is gone (its file was deleted): it cannot be retried", old.ID)
		}
		if err != nil {
			return nil, err
		}
		old.Input = in
	}
	j, err := g.newJob(conveyor.SubmitRequest{
		Algorithm:   old.Algorithm,
		Input:       old.Input,
		Priority:    old.Priority,
		Mutex:       old.Mutex,
		Timeout:     old.Timeout,
		MaxAttempts: old.MaxAttempts,
		Labels:      old.Labels,
		Requires:    old.Requires,
	})
	if err != nil {
		return nil, err
	}
	if err := g.checkFileRefs(ctx, j.Input, old.Tenant, old.Tenant == ""); err != nil {
		return nil, err
	}
	j.Tenant = old.Tenant
	j.RetryOf = old.ID
	j.Traceparent = traceparent
	return j, nil
}

// handleRetryMatching is POST /v1/jobs/retry: retries every final job
// that matches the filter in the body (a conveyor.JobFilter; status
// failed and canceled unless it says otherwise) as handleRetry would,
// bulkChunk at a time through the batch path, and answers how many it
// retried. Jobs whose algorithm the token may not use, or whose input
// the algorithm's schema no longer takes, are skipped. Should the
// broker fail or a queue fill up midway, the jobs retried so far stay
// retried, and the error says how many.
func (g *Gateway) handleRetryMatching(w http.ResponseWriter, r *http.Request) {
	f, err := g.jobFilter(w, r, true)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	ctx := context.WithoutCancel(r.Context()) // as a batch: no half-done chunk
	tp := traceparent(r)
	n := 0
	err = g.eachMatch(ctx, f, func(page []jobindex.Summary) error {
		datas := g.records(ctx, page)
		jobs := make([]*conveyor.Job, 0, len(page))
		perAlgorithm := map[string]int{}
		for _, data := range datas {
			if data == nil {
				continue // gone since the index listed it
			}
			j, err := g.retryJob(ctx, data, tp)
			switch conveyor.ErrorCode(err) {
			case "":
			case conveyor.EFULL:
				return err
			default:
				continue
			}
			jobs = append(jobs, j)
			perAlgorithm[j.Algorithm]++
		}
		for name, k := range perAlgorithm {
			alg, err := g.reg.algorithm(name)
			if err == nil && alg.MaxQueued > 0 && g.jobs.countOf(name, conveyor.StatusQueued)+k > alg.MaxQueued {
				return conveyor.Errorf(conveyor.EFULL, "the queue of %s cannot take %d more jobs (max_queued %d); try again later", name, k, alg.MaxQueued)
			}
		}
		if len(jobs) == 0 {
			return nil
		}
		if _, err := g.storeMany(ctx, jobs); err != nil {
			return err
		}
		n += len(jobs)
		return nil
	})
	if err != nil {
		g.writeError(w, r, partly(err, "retried", n))
		return
	}
	writeJSON(w, http.StatusOK, conveyor.Count{Count: n})
}

// partly says in a coded error that n jobs were acted on before it.
func partly(err error, did string, n int) error {
	ce, ok := err.(*conveyor.Error)
	if !ok || n == 0 {
		return err
	}
	out := *ce
	out.Message = fmt.Sprintf("%s (%s %d jobs before)", ce.Message, did, n)
	return &out
}
