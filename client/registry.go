package client

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/conveyor-run/conveyor"
)

// Algorithms returns the algorithms the live runners serve, sorted by name
// (GET /v1/algorithms).
func (c *Client) Algorithms(ctx context.Context) (*conveyor.AlgorithmList, error) {
	var list conveyor.AlgorithmList
	if _, err := c.do(ctx, http.MethodGet, "/v1/algorithms", nil, nil, &list); err != nil {
		return nil, err
	}
	return &list, nil
}

// Algorithm returns the algorithm name with its schemas and current load
// (GET /v1/algorithms/{name}), or an ENOTFOUND error.
func (c *Client) Algorithm(ctx context.Context, name string) (*conveyor.AlgorithmInfo, error) {
	if name == "" {
		return nil, conveyor.Errorf(conveyor.EINVALID, "missing algorithm name")
	}
	var info conveyor.AlgorithmInfo
	if _, err := c.do(ctx, http.MethodGet, "/v1/algorithms/"+url.PathEscape(name), nil, nil, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// Runners returns the live runners (GET /v1/runners).
func (c *Client) Runners(ctx context.Context) (*conveyor.RunnerList, error) {
	var list conveyor.RunnerList
	if _, err := c.do(ctx, http.MethodGet, "/v1/runners", nil, nil, &list); err != nil {
		return nil, err
	}
	return &list, nil
}

// Health returns the server's liveness (GET /healthz): its status and
// version. When the server answers with an error status but still sends a
// Health body (an unhealthy server), Health returns that body and an
// *APIError.
func (c *Client) Health(ctx context.Context) (*conveyor.Health, error) {
	return c.health(ctx, "/healthz")
}

// Ready returns the server's readiness (GET /readyz), like Health: a server
// that is not ready to serve yields its Health body and an *APIError, usually
// with code EUNAVAILABLE.
func (c *Client) Ready(ctx context.Context) (*conveyor.Health, error) {
	return c.health(ctx, "/readyz")
}

func (c *Client) health(ctx context.Context, path string) (*conveyor.Health, error) {
	resp, err := c.send(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, err
	}
	defer closeBody(resp)
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		var h conveyor.Health
		if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
			return nil, conveyor.Errorf(conveyor.EINTERNAL, "GET %s: the server sent an unreadable response: %w", path, err)
		}
		return &h, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	apiErr := newAPIError(resp, body)
	var h conveyor.Health
	if apiErr.Problem.Title == "" && json.Unmarshal(body, &h) == nil && h.Status != "" {
		if apiErr.Problem.Code == "" {
			apiErr.Err.Message = unhealthyMessage(&h)
		}
		return &h, apiErr
	}
	return nil, apiErr
}

// unhealthyMessage describes an unhealthy server: "server is unavailable
// (broker: down; runners: none)".
func unhealthyMessage(h *conveyor.Health) string {
	msg := "server is " + h.Status
	if len(h.Checks) == 0 {
		return msg
	}
	var checks []string
	for _, name := range slices.Sorted(maps.Keys(h.Checks)) {
		checks = append(checks, name+": "+h.Checks[name])
	}
	return msg + " (" + strings.Join(checks, "; ") + ")"
}
