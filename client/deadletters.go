package client

import (
	"context"
	"net/http"

	"github.com/conveyor-run/conveyor"
)

// RetryJob retries the final job id (POST /v1/jobs/{id}/retry): it returns
// a new, queued job with the same algorithm, input, priority and labels,
// whose RetryOf is id. It returns ENOTFOUND for an unknown job, ECONFLICT
// for a job not final yet, and EINVALID when the algorithm's schema no
// longer takes the job's input.
func (c *Client) RetryJob(ctx context.Context, id string) (*conveyor.Job, error) {
	path, err := jobPath(id, "/retry")
	if err != nil {
		return nil, err
	}
	var job conveyor.Job
	if _, err := c.do(ctx, http.MethodPost, path, nil, struct{}{}, &job); err != nil {
		return nil, err
	}
	return &job, nil
}

// RetryMatching retries every final job that f matches (POST
// /v1/jobs/retry; failed and canceled ones unless f.Status says
// otherwise), of the token's tenant, and returns how many it retried. It
// returns EINVALID for a malformed filter or an unfinished status; an
// error from a server that failed midway says how many it retried first.
func (c *Client) RetryMatching(ctx context.Context, f conveyor.JobFilter) (int, error) {
	return c.bulk(ctx, "/v1/jobs/retry", f)
}

// CancelMatching cancels every unfinished job that f matches (POST
// /v1/jobs/cancel), of the token's tenant, and returns how many it
// canceled. It returns EINVALID for a malformed filter or a final status.
func (c *Client) CancelMatching(ctx context.Context, f conveyor.JobFilter) (int, error) {
	return c.bulk(ctx, "/v1/jobs/cancel", f)
}

func (c *Client) bulk(ctx context.Context, path string, f conveyor.JobFilter) (int, error) {
	var n conveyor.Count
	if _, err := c.do(ctx, http.MethodPost, path, nil, f, &n); err != nil {
		return 0, err
	}
	return n.Count, nil
}

// DeleteJob removes the final job id, its record and its log (DELETE
// /v1/jobs/{id}). It returns ENOTFOUND for an unknown job and ECONFLICT
// for one not final yet (cancel it first).
func (c *Client) DeleteJob(ctx context.Context, id string) error {
	path, err := jobPath(id, "")
	if err != nil {
		return err
	}
	_, err = c.do(ctx, http.MethodDelete, path, nil, nil, nil)
	return err
}
