// Package httpkind implements the http runner kind: an algorithm that is an
// existing HTTP service.
//
//	algorithms:
//	  - {name: meme, kind: http, url: "http://127.0.0.1:5000", timeout: 30s}
//
// Each attempt is POST {url}/run/{name} with the input as its JSON body. A
// 2xx answer with a JSON body is the output; a 4xx answer fails the job at
// once (the input will not get better), with the body as the error's
// detail; a 5xx answer or a failed connection fails the attempt, which is
// retried. Cancel and timeout cancel the request.
//
// The input schema is the entry's input_schema; without one, the kind asks
// GET {url}/schemas at start-up, which may answer with an object mapping
// algorithm names to {"input_schema", "output_schema", "description"};
// a service without it accepts any JSON object.
//
// Importing the package registers the kind as "http".
package httpkind

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/runner"
)

func init() { runner.RegisterKind("http", Kind{}, "url") }

// Kind is the http runner kind.
type Kind struct{}

// Options are the keys of an http entry beyond the common ones: the kind's
// own, which config keeps for it (config.Algorithm.Options).
type Options struct {
	// URL is the service: each job is POST {url}/run/{name}.
	URL string `yaml:"url"`
}

// Entry returns an http entry: common's keys (its Kind set to http) and
// opts, as the YAML entry {kind: http, url: …} would be. It is how Go code
// — tests, a program that embeds a runner — writes one.
func Entry(common config.Algorithm, opts Options) config.Algorithm {
	common.Kind = "http"
	if err := common.SetOptions(opts); err != nil {
		panic(err) // Options always encodes to a mapping
	}
	return common
}

// maxBody caps an answer read from a service.
const maxBody = 64 << 20

// client has no overall timeout: each request's context bounds it.
var client = &http.Client{Transport: &http.Transport{
	Proxy:               nil, // loopback and internal services: never through a proxy
	MaxIdleConnsPerHost: 64,
	IdleConnTimeout:     90 * time.Second,
}}

// Provision checks the entry and learns the algorithm's schemas. It returns
// an error for a missing name or URL, or keys the kind does not take
// (DecodeOptions names them).
func (Kind) Provision(ctx context.Context, e config.Algorithm) ([]runner.Served, error) {
	if err := conveyor.ValidateName(e.Name); err != nil {
		return nil, fmt.Errorf("http algorithms need a name: %w", err)
	}
	var opt Options
	if err := e.DecodeOptions(&opt); err != nil {
		return nil, err
	}
	u, err := url.Parse(opt.URL)
	if opt.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("url %q: want http://host[:port][/path]", opt.URL)
	}
	alg := conveyor.Algorithm{Name: e.Name, Kind: "http", Description: e.Description, Timeout: e.Timeout, MaxAttempts: e.MaxAttempts}
	if alg.InputSchema, err = config.SchemaJSON(e.InputSchema); err != nil {
		return nil, err
	}
	if alg.OutputSchema, err = config.SchemaJSON(e.OutputSchema); err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(opt.URL, "/")
	if alg.InputSchema == nil {
		if s, err := fetchSchemas(ctx, base, e.Name); err != nil {
			runner.Logger(ctx).Warn("http algorithm: no schema from the service; any JSON object is accepted",
				"algorithm", e.Name, "url", base+"/schemas", "err", err)
		} else {
			alg.InputSchema, alg.OutputSchema = s.Input, s.Output
			if alg.Description == "" {
				alg.Description = s.Description
			}
		}
	}
	if alg.InputSchema == nil {
		alg.InputSchema = conveyor.AnyObjectSchema
	}
	return []runner.Served{{Algorithm: alg, Handler: &handler{name: e.Name, url: base + "/run/" + url.PathEscape(e.Name)}}}, nil
}

type schemas struct {
	Input       json.RawMessage `json:"input_schema"`
	Output      json.RawMessage `json:"output_schema"`
	Description string          `json:"description"`
}

// fetchSchemas asks the service for the schemas of algorithm name.
func fetchSchemas(ctx context.Context, base, name string) (schemas, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/schemas", nil)
	if err != nil {
		return schemas{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return schemas{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return schemas{}, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var all map[string]schemas
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&all); err != nil {
		return schemas{}, fmt.Errorf("decode: %w", err)
	}
	s, ok := all[name]
	if !ok || len(s.Input) == 0 {
		return schemas{}, fmt.Errorf("no input_schema for %s", name)
	}
	for _, raw := range []*json.RawMessage{&s.Input, &s.Output} {
		var b bytes.Buffer
		if len(*raw) > 0 && json.Compact(&b, *raw) == nil {
			*raw = b.Bytes()
		}
	}
	return s, nil
}

// handler runs attempts as requests to one service endpoint.
type handler struct {
	name, url string
}

// Run posts the input and returns the service's answer; see the package
// documentation for how answers map to outcomes. When ctx ends, the
// request is canceled and Run returns an error wrapping ctx's.
func (h *handler) Run(ctx context.Context, t *runner.Task) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", h.url, bytes.NewReader(t.Input))
	if err != nil {
		return nil, conveyor.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Conveyor-Job-Id", t.JobID)
	req.Header.Set("Conveyor-Attempt", fmt.Sprint(t.Attempt))
	if t.Traceparent != "" {
		req.Header.Set("traceparent", t.Traceparent)
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("http %s: %w", h.name, ctx.Err())
		}
		// The service could not be reached (or dropped the connection
		// before answering): retried, and on the synchronous path a 502,
		// not the algorithm's failure.
		return nil, &conveyor.JobError{Type: conveyor.ErrorTypeUnreachable, Message: "request failed: " + err.Error()}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("http %s: %w", h.name, ctx.Err())
		}
		return nil, &conveyor.JobError{Type: conveyor.ErrorTypeError, Message: "reading the answer: " + err.Error()}
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		if !json.Valid(body) {
			return nil, &conveyor.JobError{Type: conveyor.ErrorTypeError, Message: fmt.Sprintf("HTTP %d with a body that is not JSON", resp.StatusCode), Detail: detail(body)}
		}
		return body, nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return nil, conveyor.Permanent(&conveyor.JobError{Type: conveyor.ErrorTypeError, Message: message(resp, body), Detail: detail(body)})
	}
	return nil, &conveyor.JobError{Type: conveyor.ErrorTypeError, Message: message(resp, body), Detail: detail(body)}
}

// message is "HTTP <code>: <first line of the body>".
func message(resp *http.Response, body []byte) string {
	line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	if len(line) > 200 {
		line = line[:200] + "…"
	}
	if line == "" {
		return fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return fmt.Sprintf("HTTP %d: %s", resp.StatusCode, line)
}

func detail(body []byte) string {
	if len(body) > 4096 {
		body = append(body[:4096:4096], "…"...)
	}
	return strings.ToValidUTF8(string(body), "\uFFFD")
}

var (
	_ runner.Kind    = Kind{}
	_ runner.Handler = (*handler)(nil)
)
