package client

import (
	"context"
	"encoding/json"
	"iter"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor-run/conveyor"
)

// SubmitOption modifies one call of Submit.
type SubmitOption func(*submitOptions)

type submitOptions struct {
	wait time.Duration
}

// Wait makes Submit wait up to d for the job to finish: the job Submit then
// returns is final if it finished in time, else still queued or running.
// The server may wait less than d; Client.Wait waits for longer.
func Wait(d time.Duration) SubmitOption {
	return func(o *submitOptions) { o.wait = d }
}

// Submit submits a job (POST /v1/jobs) and returns it as the server stored
// it. A nil req.Input is sent as the empty object {}. When ctx carries a
// traceparent (conveyor.WithTraceparent; a Go handler's context does), it
// is sent, so a job submitted from a job continues its trace. A request with the
// idempotency key of an earlier identical request returns the earlier job;
// with a different request it fails with ECONFLICT.
//
// Besides the errors listed in the package documentation, the server
// answers EINVALID for an input that violates the algorithm's schema (one
// Violation per problem in the *conveyor.Error's Details), ENOTFOUND for an
// unknown algorithm, ETOOLARGE for a body over its limit and EUNAVAILABLE
// when the queue is full (see APIError.RetryAfter).
func (c *Client) Submit(ctx context.Context, req conveyor.SubmitRequest, opts ...SubmitOption) (*conveyor.Job, error) {
	var o submitOptions
	for _, opt := range opts {
		opt(&o)
	}
	if req.Input == nil {
		req.Input = json.RawMessage(`{}`)
	}
	var q url.Values
	if o.wait > 0 {
		q = url.Values{"wait": {formatWait(o.wait)}}
	}
	var job conveyor.Job
	if _, err := c.do(ctx, http.MethodPost, "/v1/jobs", q, req, &job); err != nil {
		return nil, err
	}
	return &job, nil
}

// SubmitBatch submits many jobs in one request (POST /v1/jobs/batch, at
// most 1000) and returns them in the order given. The batch is accepted
// whole or not at all: an error naming the refused job ("jobs[3]: …")
// means none was queued.
func (c *Client) SubmitBatch(ctx context.Context, reqs []conveyor.SubmitRequest) ([]*conveyor.Job, error) {
	body := conveyor.BatchRequest{Jobs: make([]conveyor.SubmitRequest, len(reqs))}
	for i, req := range reqs {
		if req.Input == nil {
			req.Input = json.RawMessage(`{}`)
		}
		body.Jobs[i] = req
	}
	var list conveyor.JobList
	if _, err := c.do(ctx, http.MethodPost, "/v1/jobs/batch", nil, body, &list); err != nil {
		return nil, err
	}
	return list.Jobs, nil
}

// Get returns the job id (GET /v1/jobs/{id}), or an ENOTFOUND error.
func (c *Client) Get(ctx context.Context, id string) (*conveyor.Job, error) {
	return c.get(ctx, id, 0)
}

// get returns the job id, long-polling up to wait (if positive) for it to
// finish.
func (c *Client) get(ctx context.Context, id string, wait time.Duration) (*conveyor.Job, error) {
	path, err := jobPath(id, "")
	if err != nil {
		return nil, err
	}
	var q url.Values
	if wait > 0 {
		q = url.Values{"wait": {formatWait(wait)}}
	}
	var job conveyor.Job
	if _, err := c.do(ctx, http.MethodGet, path, q, nil, &job); err != nil {
		return nil, err
	}
	return &job, nil
}

// Cancel cancels the job id (POST /v1/jobs/{id}/cancel) and returns it,
// now canceled; a running attempt is stopped. It returns ENOTFOUND for an
// unknown job and ECONFLICT for a job that has already finished.
func (c *Client) Cancel(ctx context.Context, id string) (*conveyor.Job, error) {
	path, err := jobPath(id, "/cancel")
	if err != nil {
		return nil, err
	}
	var job conveyor.Job
	if _, err := c.do(ctx, http.MethodPost, path, nil, nil, &job); err != nil {
		return nil, err
	}
	return &job, nil
}

// Logs returns the log lines of the job id so far, oldest first
// (GET /v1/jobs/{id}/logs), or an ENOTFOUND error.
func (c *Client) Logs(ctx context.Context, id string) (*conveyor.LogList, error) {
	path, err := jobPath(id, "/logs")
	if err != nil {
		return nil, err
	}
	var logs conveyor.LogList
	if _, err := c.do(ctx, http.MethodGet, path, nil, nil, &logs); err != nil {
		return nil, err
	}
	return &logs, nil
}

// ListOptions filters and pages List. The zero value lists the first page of
// all jobs, as many as the server's default limit.
type ListOptions struct {
	// Algorithm, when not empty, keeps only that algorithm's jobs.
	Algorithm string
	// Status, when not empty, keeps only jobs in that status; Statuses,
	// in any of those.
	Status   conveyor.Status
	Statuses []conveyor.Status
	// Labels keeps only the jobs with every one of these labels.
	Labels map[string]string
	// CreatedAfter and CreatedBefore, when not zero, keep only the jobs
	// created at or after, and before, these times.
	CreatedAfter, CreatedBefore time.Time
	// Tenant, when not empty, lists that tenant's jobs (admin tokens).
	Tenant string
	// IDPrefix keeps only the jobs whose id starts with it.
	IDPrefix string
	// Oldest lists oldest first.
	Oldest bool
	// Include asks for the jobs' "input" and/or "output" as well.
	Include []string
	// Limit, when positive, is the most jobs per page.
	Limit int
	// Cursor is the JobPage.NextCursor of the previous page; empty for the
	// first page.
	Cursor string
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("algorithm", o.Algorithm)
	statuses := o.Statuses
	if o.Status != "" {
		statuses = append([]conveyor.Status{o.Status}, statuses...)
	}
	var st []string
	for _, s := range statuses {
		st = append(st, string(s))
	}
	set("status", strings.Join(st, ","))
	for _, k := range slices.Sorted(maps.Keys(o.Labels)) {
		q.Add("label", k+"="+o.Labels[k])
	}
	if !o.CreatedAfter.IsZero() {
		set("created_after", o.CreatedAfter.UTC().Format(time.RFC3339Nano))
	}
	if !o.CreatedBefore.IsZero() {
		set("created_before", o.CreatedBefore.UTC().Format(time.RFC3339Nano))
	}
	set("tenant", o.Tenant)
	set("q", o.IDPrefix)
	if o.Oldest {
		set("order", "oldest")
	}
	set("include", strings.Join(o.Include, ","))
	if o.Limit > 0 {
		set("limit", strconv.Itoa(o.Limit))
	}
	set("cursor", o.Cursor)
	return q
}

// List returns one page of job summaries, newest first (GET /v1/jobs).
// The server answers EINVALID for an unknown status, a malformed filter or
// a bad cursor, and EFORBIDDEN for a tenant a token may not list.
func (c *Client) List(ctx context.Context, opts ListOptions) (*conveyor.JobPage, error) {
	var list conveyor.JobPage
	if _, err := c.do(ctx, http.MethodGet, "/v1/jobs", opts.query(), nil, &list); err != nil {
		return nil, err
	}
	return &list, nil
}

// ListAll iterates over the jobs List returns, fetching page after page
// from opts.Cursor on; opts.Limit is the page size. An error ends the
// iteration after it is yielded.
//
//	for job, err := range c.ListAll(ctx, client.ListOptions{Status: conveyor.StatusFailed}) {
//		if err != nil { return err }
//		fmt.Println(job.ID)
//	}
func (c *Client) ListAll(ctx context.Context, opts ListOptions) iter.Seq2[*conveyor.JobSummary, error] {
	return func(yield func(*conveyor.JobSummary, error) bool) {
		for {
			list, err := c.List(ctx, opts)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, job := range list.Jobs {
				if !yield(job, nil) {
					return
				}
			}
			// A repeated cursor would loop forever; treat it as the end.
			if list.NextCursor == "" || list.NextCursor == opts.Cursor {
				return
			}
			opts.Cursor = list.NextCursor
		}
	}
}

// formatWait writes d as a ?wait= value, rounded to the millisecond.
func formatWait(d time.Duration) string {
	d = d.Round(time.Millisecond)
	if d < time.Millisecond {
		d = time.Millisecond
	}
	return d.String()
}
