package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/client"
)

// fakeGateway stands in for a Conveyor server in the examples: it knows one
// algorithm, is_prime, whose jobs finish at once.
func fakeGateway() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		var req conveyor.SubmitRequest
		json.NewDecoder(r.Body).Decode(&req)
		if req.Algorithm != "is_prime" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"title":"Not Found","status":404,"code":"not_found","detail":"unknown algorithm \"`+req.Algorithm+`\""}`)
			return
		}
		w.Header().Set("Location", "/v1/jobs/j1")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"id":"j1","algorithm":"is_prime","status":"queued","attempt":0,"max_attempts":3}`)
	})
	mux.HandleFunc("GET /v1/jobs/j1", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"id":"j1","algorithm":"is_prime","status":"succeeded","output":{"prime":true},"attempt":1,"max_attempts":3}`)
	})
	return httptest.NewServer(mux)
}

func Example() {
	srv := fakeGateway()
	defer srv.Close()
	ctx := context.Background()

	c, err := client.New(srv.URL)
	if err != nil {
		panic(err)
	}
	job, err := c.Submit(ctx, conveyor.SubmitRequest{
		Algorithm: "is_prime",
		Input:     json.RawMessage(`{"n": 7919}`),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(job.ID, job.Status)

	job, err = c.Wait(ctx, job.ID, time.Minute)
	if err != nil {
		panic(err)
	}
	fmt.Println(job.ID, job.Status, string(job.Output))
	// Output:
	// j1 queued
	// j1 succeeded {"prime":true}
}

func ExampleAPIError() {
	srv := fakeGateway()
	defer srv.Close()

	c, _ := client.New(srv.URL)
	_, err := c.Submit(context.Background(), conveyor.SubmitRequest{Algorithm: "nope"})

	fmt.Println(conveyor.ErrorCode(err) == conveyor.ENOTFOUND, err)
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode)
	}
	// Output:
	// true unknown algorithm "nope"
	// 404
}
