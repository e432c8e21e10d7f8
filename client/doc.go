// Package client is a Go client for Conveyor's HTTP API v1. The conveyor
// command line uses it; so can any Go program.
//
// A Client is safe for concurrent use. Every network method takes a context
// first and returns the API's wire types from package conveyor:
//
//	c, err := client.New("http://127.0.0.1:8080")
//	if err != nil { ... }
//	job, err := c.Submit(ctx, conveyor.SubmitRequest{
//		Algorithm: "is_prime",
//		Input:     json.RawMessage(`{"n": 7919}`),
//	})
//	if err != nil { ... }
//	job, err = c.Wait(ctx, job.ID, time.Minute)
//
// # Errors
//
// An error response becomes a *conveyor.Error carrying the server's error
// code, message and schema violations, so callers switch on
// conveyor.ErrorCode(err) (conveyor.ENOTFOUND, conveyor.EINVALID, ...). It
// arrives wrapped in an *APIError, which adds the HTTP status, the raw
// problem and any Retry-After; use errors.As to get it. A server that cannot
// be reached yields a *conveyor.Error with code conveyor.EUNAVAILABLE; a
// canceled or expired context yields an error that errors.Is matches with
// ctx.Err().
package client
