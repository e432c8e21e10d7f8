package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/conveyor-run/conveyor"
)

// CreateSchedule makes a recurring schedule (POST /v1/schedules) and
// returns it with its next firing.
func (c *Client) CreateSchedule(ctx context.Context, s conveyor.Schedule) (*conveyor.Schedule, error) {
	var out conveyor.Schedule
	if _, err := c.do(ctx, http.MethodPost, "/v1/schedules", nil, s, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Schedules lists the schedules (GET /v1/schedules), by name.
func (c *Client) Schedules(ctx context.Context) (*conveyor.ScheduleList, error) {
	var out conveyor.ScheduleList
	if _, err := c.do(ctx, http.MethodGet, "/v1/schedules", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Schedule reads schedule name (GET /v1/schedules/{name}).
func (c *Client) Schedule(ctx context.Context, name string) (*conveyor.Schedule, error) {
	var out conveyor.Schedule
	if _, err := c.do(ctx, http.MethodGet, schedulePath(name, ""), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteSchedule removes schedule name; the jobs it started stay.
func (c *Client) DeleteSchedule(ctx context.Context, name string) error {
	_, err := c.do(ctx, http.MethodDelete, schedulePath(name, ""), nil, nil, nil)
	return err
}

// PauseSchedule stops schedule name from firing until ResumeSchedule.
func (c *Client) PauseSchedule(ctx context.Context, name string) (*conveyor.Schedule, error) {
	return c.scheduleAction(ctx, name, "/pause")
}

// ResumeSchedule lets a paused schedule fire again.
func (c *Client) ResumeSchedule(ctx context.Context, name string) (*conveyor.Schedule, error) {
	return c.scheduleAction(ctx, name, "/resume")
}

func (c *Client) scheduleAction(ctx context.Context, name, action string) (*conveyor.Schedule, error) {
	var out conveyor.Schedule
	if _, err := c.do(ctx, http.MethodPost, schedulePath(name, action), nil, struct{}{}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// TriggerSchedule starts one job of schedule name now, and returns it.
func (c *Client) TriggerSchedule(ctx context.Context, name string) (*conveyor.Job, error) {
	var job conveyor.Job
	if _, err := c.do(ctx, http.MethodPost, schedulePath(name, "/trigger"), nil, struct{}{}, &job); err != nil {
		return nil, err
	}
	return &job, nil
}

func schedulePath(name, suffix string) string {
	return "/v1/schedules/" + url.PathEscape(name) + suffix
}
