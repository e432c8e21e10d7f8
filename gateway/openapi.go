package gateway

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/conveyor-run/conveyor"
)

// The OpenAPI 3.1 document of the API, made at each request from the live
// registry: the generic job endpoints, and for each algorithm typed
// operations whose request body is its input schema.

// components are the schemas of the API's own types, reflected once from
// the wire types in the conveyor package.
var components = func() map[string]any {
	r := jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true, Mapper: mapType}
	out := map[string]any{}
	for name, v := range map[string]any{
		"Job": conveyor.Job{}, "JobList": conveyor.JobList{}, "SubmitRequest": conveyor.SubmitRequest{}, "BatchRequest": conveyor.BatchRequest{},
		"Problem": conveyor.Problem{}, "AlgorithmInfo": conveyor.AlgorithmInfo{}, "AlgorithmList": conveyor.AlgorithmList{},
		"RunnerList": conveyor.RunnerList{}, "LogList": conveyor.LogList{}, "Health": conveyor.Health{},
		"Stats": Stats{}, "Identity": Identity{}, "JobFilter": conveyor.JobFilter{}, "Count": conveyor.Count{},
		"Schedule": conveyor.Schedule{}, "ScheduleList": conveyor.ScheduleList{},
		"FileInfo": conveyor.FileInfo{}, "FileRef": conveyor.File{},
	} {
		s := r.Reflect(v)
		s.Version, s.ID = "", ""
		stripRefs(s)
		out[name] = s
	}
	return out
}()

// stripRefs removes from a job's schema, and from schemas within it, the
// references to payloads kept in the object store: a client never sees
// them (see conveyor.PayloadRef).
func stripRefs(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	if s.Properties != nil {
		s.Properties.Delete("input_ref")
		s.Properties.Delete("output_ref")
		for p := s.Properties.Oldest(); p != nil; p = p.Next() {
			stripRefs(p.Value)
		}
	}
	stripRefs(s.Items)
}

// mapType gives the schema of domain types whose JSON is not their Go shape.
func mapType(t reflect.Type) *jsonschema.Schema {
	switch t {
	case reflect.TypeFor[conveyor.Duration]():
		return &jsonschema.Schema{Type: "string", Description: "a duration such as 30s, 5m or 2h (or a number of seconds)"}
	case reflect.TypeFor[conveyor.Status]():
		enum := make([]any, len(conveyor.Statuses))
		for i, st := range conveyor.Statuses {
			enum[i] = string(st)
		}
		return &jsonschema.Schema{Type: "string", Enum: enum}
	case reflect.TypeFor[conveyor.Priority]():
		return &jsonschema.Schema{Type: "string", Enum: []any{"high", "normal", "low"}}
	case reflect.TypeFor[json.RawMessage]():
		return &jsonschema.Schema{}
	}
	return nil
}

// handleOpenAPI is GET /openapi.json.
func (g *Gateway) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, g.openAPI())
}

type obj = map[string]any

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

func jsonBody(schema any) obj {
	return obj{"content": obj{"application/json": obj{"schema": schema}}}
}

func answer(desc string, schema any) obj {
	a := obj{"description": desc}
	if schema != nil {
		a["content"] = obj{"application/json": obj{"schema": schema}}
	}
	return a
}

// problems are the error answers of an operation, by status code.
func problems(codes ...string) obj {
	text := map[string]string{
		"401": "No valid API token (Authorization: Bearer …)",
		"400": "Malformed request, or input that does not match the schema (each violation with its JSON pointer)",
		"404": "No such job or algorithm", "409": "Conflict (idempotency key reused, job already final)",
		"413": "Request body over the limit", "415": "A request body not sent as Content-Type: application/json",
		"422": "The algorithm failed", "429": "Queue full (see Retry-After)",
		"502": "The service the algorithm forwards to could not be reached",
		"503": "No runner, or the broker is unavailable", "504": "No answer within the timeout",
	}
	out := obj{}
	for _, c := range codes {
		out[c] = obj{"description": text[c], "content": obj{"application/problem+json": obj{"schema": ref("Problem")}}}
	}
	return out
}

func merge(a, b obj) obj {
	for k, v := range b {
		a[k] = v
	}
	return a
}

func param(name, in, desc string, schema obj, required bool) obj {
	return obj{"name": name, "in": in, "description": desc, "schema": schema, "required": required}
}

var (
	waitParam = param("wait", "query", "wait up to this long (e.g. 30s) for the job to finish", obj{"type": "string"}, false)
	// submitWait is ?wait= on a submit, which answers 103 first.
	submitWait = param("wait", "query", "wait up to this long (e.g. 30s) for the job to finish; meanwhile a 103 Early Hints response gives the job's Location as soon as it is accepted", obj{"type": "string"}, false)
	traceParam = param("traceparent", "header", "W3C trace context, stored on the job and passed to its work; an invalid value is ignored", obj{"type": "string"}, false)
	idParam    = param("id", "path", "the job id", obj{"type": "string"}, true)
	// shorthandParams are the query parameters of POST
	// /v1/algorithms/{name}/jobs: the fields of a submit besides the input.
	shorthandParams = []obj{submitWait, traceParam,
		param("priority", "query", "queue priority", obj{"type": "string", "enum": []string{"high", "normal", "low"}}, false),
		param("idempotency_key", "query", "submit at most once per key: a repeat returns the first job", obj{"type": "string"}, false),
		param("mutex", "query", "never run at the same time as another job with this key", obj{"type": "string"}, false),
		param("timeout", "query", "the job's time limit per attempt (e.g. 30s)", obj{"type": "string"}, false),
		param("max_attempts", "query", "try the job at most this many times", obj{"type": "integer", "minimum": 1}, false),
		param("callback_url", "query", "POST the job to this URL once it is final (its host must be allowed)", obj{"type": "string"}, false),
		param("requires", "query", "run the job only on runners with these labels, as k=v,k=v", obj{"type": "string"}, false),
		delayParam, runAtParam}
	delayParam  = param("delay", "query", "run the job this long from now (e.g. 90s): it is scheduled until then", obj{"type": "string"}, false)
	runAtParam  = param("run_at", "query", "run the job at this RFC 3339 time: it is scheduled until then", obj{"type": "string", "format": "date-time"}, false)
	lastEventID = param("Last-Event-ID", "header", "the id of the last event seen: the stream resumes after it", obj{"type": "string"}, false)
	// scheduleParam names a recurring schedule.
	scheduleParam = param("name", "path", "the schedule's name", obj{"type": "string"}, true)
)

// openAPI builds the document from the registry as it is now.
func (g *Gateway) openAPI() obj {
	jobAnswers := func(extra ...string) obj {
		return merge(obj{
			"200": answer("The job (finished, when ?wait= was given and it finished in time)", ref("Job")),
			"202": answer("Accepted: the job is stored and queued", ref("Job")),
		}, problems(append([]string{"400", "404", "409", "413", "415", "429", "503"}, extra...)...))
	}
	paths := obj{
		"/v1/jobs": obj{
			"post": obj{"operationId": "submitJob", "summary": "Submit a job", "tags": []string{"jobs"},
				"parameters": []obj{submitWait, traceParam}, "requestBody": merge(jsonBody(ref("SubmitRequest")), obj{"required": true}),
				"responses": jobAnswers()},
			"get": obj{"operationId": "listJobs", "summary": "List jobs, newest first", "tags": []string{"jobs"},
				"parameters": listParams,
				"responses":  merge(obj{"200": answer("A page of jobs", ref("JobList"))}, problems("400"))},
		},
		"/v1/jobs/batch": obj{"post": obj{"operationId": "submitJobs", "summary": "Submit many jobs at once, accepted whole or not at all", "tags": []string{"jobs"},
			"parameters": []obj{traceParam}, "requestBody": merge(jsonBody(ref("BatchRequest")), obj{"required": true}),
			"responses": merge(obj{"202": answer("Accepted: every job is queued; the jobs in the order given", ref("JobList"))},
				problems("400", "404", "409", "413", "415", "429", "503"))}},
		"/v1/jobs/{id}": obj{
			"get": obj{"operationId": "getJob", "summary": "Read a job, or long-poll until it is final", "tags": []string{"jobs"},
				"parameters": []obj{idParam, waitParam}, "responses": merge(obj{"200": answer("The job", ref("Job"))}, problems("404"))},
			"delete": obj{"operationId": "deleteJob", "summary": "Delete a finished job: its record and its log, from every gateway", "tags": []string{"dead letters"},
				"description": "Needs the cancel scope. A job not finished yet is 409: cancel it first.",
				"parameters":  []obj{idParam}, "responses": merge(obj{"204": answer("Deleted", nil)}, problems("404", "409", "503"))},
		},
		"/v1/jobs/{id}/retry": obj{"post": obj{"operationId": "retryJob", "summary": "Retry a finished job as a new job", "tags": []string{"dead letters"},
			"description": "A new job with the same algorithm, input, priority, labels and tenant (and mutex key, timeout and max_attempts); its retry_of is the retried job's id. Needs the submit scope. A job not finished yet is 409.",
			"parameters":  []obj{idParam, traceParam},
			"responses":   merge(obj{"202": answer("Accepted: the new job is stored and queued", ref("Job"))}, problems("400", "404", "409", "429", "503"))}},
		"/v1/jobs/retry": obj{"post": obj{"operationId": "retryJobs", "summary": "Retry every finished job that a filter matches", "tags": []string{"dead letters"},
			"description": "Each match is retried as POST /v1/jobs/{id}/retry would. status defaults to failed and canceled, and may name final statuses only (a string or a list). A tenant's token retries its tenant's jobs only. Needs the submit scope. Unknown fields and malformed values are 400s naming them. `{}` retries every failed and canceled job.",
			"parameters":  []obj{traceParam}, "requestBody": merge(jsonBody(ref("JobFilter")), obj{"required": true}),
			"responses": merge(obj{"200": answer("How many jobs were retried", ref("Count"))}, problems("400", "415", "429", "503"))}},
		"/v1/jobs/cancel": obj{"post": obj{"operationId": "cancelJobs", "summary": "Cancel every unfinished job that a filter matches", "tags": []string{"dead letters"},
			"description": "Each match is canceled as POST /v1/jobs/{id}/cancel would. status defaults to every unfinished status, and may name unfinished statuses only. A tenant's token cancels its tenant's jobs only. Needs the cancel scope. Unknown fields and malformed values are 400s naming them.",
			"requestBody": merge(jsonBody(ref("JobFilter")), obj{"required": true}),
			"responses":   merge(obj{"200": answer("How many jobs were canceled", ref("Count"))}, problems("400", "415", "503"))}},
		"/v1/jobs/{id}/events": obj{"get": obj{"operationId": "jobEvents", "summary": "Follow a job as Server-Sent Events until it is final", "tags": []string{"jobs"},
			"description": "Events: `status` (data: the job, at each change of its record), `progress` ({percent, message}), `log` ({ts, stream, line, attempt}), `end` (the final job; then the stream closes). Each event's id is `<record revision>.<log sequence>`: reconnecting with `Last-Event-ID` resumes, with every log line after the last one seen. A finished job replays and ends. At most `http.max_event_streams` streams per token at once (429 past it).",
			"parameters":  []obj{idParam, lastEventID},
			"responses":   merge(obj{"200": obj{"description": "The event stream", "content": obj{"text/event-stream": obj{"schema": obj{"type": "string"}}}}}, problems("404", "429"))}},
		"/v1/events": obj{"get": obj{"operationId": "allEvents", "summary": "The status changes of every job as Server-Sent Events", "tags": []string{"jobs"},
			"description": "A `job` event with {id, algorithm, status} at each change, in the order the changes were stored; a tenant's token sees its tenant's jobs only. Each event's id is `<job store revision>.<queue sequence>.<history sequence>`: reconnecting with `Last-Event-ID` resumes with every job that changed since, as it is now.",
			"parameters":  []obj{param("algorithm", "query", "only jobs of this algorithm", obj{"type": "string"}, false), lastEventID},
			"responses":   merge(obj{"200": obj{"description": "The event stream", "content": obj{"text/event-stream": obj{"schema": obj{"type": "string"}}}}}, problems("429"))}},
		"/metrics": obj{"get": obj{"operationId": "metrics", "summary": "Prometheus metrics", "tags": []string{"health"},
			"description": "Needs the `metrics` or `admin` scope: the counts are every tenant's.",
			"responses":   merge(obj{"200": obj{"description": "The Prometheus text format", "content": obj{"text/plain": obj{"schema": obj{"type": "string"}}}}}, problems("401"))}},
		"/openapi.json": obj{"get": obj{"operationId": "openapi", "summary": "This document: the API, with an operation per registered algorithm", "tags": []string{"health"},
			"responses": obj{"200": answer("The OpenAPI 3.1 document", obj{"type": "object"})}}},
		"/docs": obj{"get": obj{"operationId": "docs", "summary": "A page that renders /openapi.json (served without a token)", "tags": []string{"health"},
			"responses": obj{"200": obj{"description": "HTML", "content": obj{"text/html": obj{"schema": obj{"type": "string"}}}}}}},
		"/v1/jobs/{id}/logs": obj{"get": obj{"operationId": "getJobLogs", "summary": "The log lines of a job", "tags": []string{"jobs"},
			"parameters": []obj{idParam, param("follow", "query", "true: stream the lines as NDJSON (application/x-ndjson), one log line per line, until the job is final", obj{"type": "boolean"}, false)},
			"responses":  merge(obj{"200": answer("Its log lines, oldest first", ref("LogList"))}, problems("404"))}},
		"/v1/jobs/{id}/cancel": obj{"post": obj{"operationId": "cancelJob", "summary": "Cancel a job; a running one is stopped", "tags": []string{"jobs"},
			"parameters": []obj{idParam}, "responses": merge(obj{"200": answer("The canceled job", ref("Job"))}, problems("404", "409"))}},
		"/v1/algorithms": obj{"get": obj{"operationId": "listAlgorithms", "summary": "The algorithms runners serve", "tags": []string{"registry"},
			"responses": obj{"200": answer("Every registered algorithm", ref("AlgorithmList"))}}},
		"/v1/runners": obj{"get": obj{"operationId": "listRunners", "summary": "Live runners", "tags": []string{"registry"},
			"responses": obj{"200": answer("The runners seen within their heartbeat", ref("RunnerList"))}}},
		"/v1/stats": obj{"get": obj{"operationId": "stats", "summary": "Jobs per status and finished per minute, by algorithm", "tags": []string{"registry"},
			"parameters": statsParams,
			"responses":  obj{"200": answer("Counts and the last 60 minutes of throughput", ref("Stats"))}}},
		"/v1/whoami": obj{"get": obj{"operationId": "whoami", "summary": "Who the request's token is: name, tenant, scopes, algorithms", "tags": []string{"registry"},
			"description": "Any valid token may ask, whatever its scopes. Without tokens configured the answer is {\"open\": true, \"scopes\": [\"admin\"]}.",
			"responses":   merge(obj{"200": answer("The token's identity", ref("Identity"))}, problems("401"))}},
		"/v1/schedules": obj{
			"post": obj{"operationId": "createSchedule", "summary": "Make a recurring schedule", "tags": []string{"schedules"},
				"description": "Give every (a duration, at least 1s) or cron (five fields, six with seconds first, or @hourly, @daily, @weekly, @monthly, @yearly) with an optional IANA timezone. Each firing starts one job of the algorithm labelled schedule=<name>; with overlap skip (the default) a firing starts none while the previous job is unfinished. The broker's message scheduler keeps the time: a schedule fires once per period however many gateways run, and a period missed while everything was down fires once at start. The state fields (next_at, last_at, last_job, fired, skipped) are the server's. Needs the submit scope.",
				"requestBody": merge(jsonBody(ref("Schedule")), obj{"required": true}),
				"responses":   merge(obj{"201": answer("Made: the schedule with its next firing", ref("Schedule"))}, problems("400", "409", "415", "503"))},
			"get": obj{"operationId": "listSchedules", "summary": "The recurring schedules, by name", "tags": []string{"schedules"},
				"responses": obj{"200": answer("Every schedule the token's tenant may see", ref("ScheduleList"))}},
		},
		"/v1/schedules/{name}": obj{
			"get": obj{"operationId": "getSchedule", "summary": "A schedule with its next and last firing", "tags": []string{"schedules"},
				"parameters": []obj{scheduleParam}, "responses": merge(obj{"200": answer("The schedule", ref("Schedule"))}, problems("404"))},
			"delete": obj{"operationId": "deleteSchedule", "summary": "Remove a schedule; the jobs it started stay", "tags": []string{"schedules"},
				"parameters": []obj{scheduleParam}, "responses": merge(obj{"204": answer("Deleted", nil)}, problems("404", "503"))},
		},
		"/v1/schedules/{name}/pause": obj{"post": obj{"operationId": "pauseSchedule", "summary": "Stop a schedule from firing until resumed", "tags": []string{"schedules"},
			"parameters": []obj{scheduleParam}, "responses": merge(obj{"200": answer("The paused schedule", ref("Schedule"))}, problems("404", "503"))}},
		"/v1/schedules/{name}/resume": obj{"post": obj{"operationId": "resumeSchedule", "summary": "Let a paused schedule fire again (an every period counts from now)", "tags": []string{"schedules"},
			"parameters": []obj{scheduleParam}, "responses": merge(obj{"200": answer("The resumed schedule", ref("Schedule"))}, problems("404", "503"))}},
		"/v1/schedules/{name}/trigger": obj{"post": obj{"operationId": "triggerSchedule", "summary": "Start one job of a schedule now, whatever its overlap", "tags": []string{"schedules"},
			"parameters": []obj{scheduleParam}, "responses": merge(obj{"202": answer("The job started", ref("Job"))}, problems("400", "404", "429", "503"))}},
		"/v1/files": obj{"post": obj{"operationId": "uploadFile", "summary": "Upload a file, streamed into the broker's object store", "tags": []string{"files"},
			"description": "The body is the file itself, of any Content-Type (kept as the file's type) and any length up to files.max_size (default 5 GiB; http.max_body does not apply). Reference it in a job's input, anywhere, as {\"$file\": \"<id>\"}: the runner of an exec, worker or go algorithm gives the job a local read-only copy, the reference with path, size and sha256 added. A Content-Digest: sha-256=:<base64>: (or Digest: SHA-256=<base64>) header is checked against the body. Over the limit, a wrong digest, or a client that hangs up: nothing is kept. The file belongs to the token's tenant and expires after the retention. Needs the submit scope.",
			"parameters":  []obj{param("Content-Digest", "header", "sha-256=:<base64 of the SHA-256>: to check the body against (RFC 9530)", obj{"type": "string"}, false)},
			"requestBody": obj{"required": true, "content": obj{"*/*": obj{"schema": obj{"type": "string", "format": "binary"}}}},
			"responses":   merge(obj{"201": answer("Stored: the file's id, size, sha256, content type and expiry", ref("FileInfo"))}, problems("400", "413", "503"))}},
		"/v1/files/{id}": obj{"get": obj{"operationId": "downloadFile", "summary": "Download a file (Range, HEAD, ETag = its sha256)", "tags": []string{"files"},
			"description": "Streamed from the object store. Range: bytes=… answers 206 with that part (If-Range, If-None-Match honoured); HEAD answers the headers alone. A file of another tenant is 404. Needs the read scope.",
			"parameters":  []obj{param("id", "path", "the file id", obj{"type": "string"}, true), param("Range", "header", "bytes=start-end", obj{"type": "string"}, false)},
			"responses": merge(obj{
				"200": obj{"description": "The file", "content": obj{"*/*": obj{"schema": obj{"type": "string", "format": "binary"}}}},
				"206": obj{"description": "The part of the file the Range asked for", "content": obj{"*/*": obj{"schema": obj{"type": "string", "format": "binary"}}}},
				"304": obj{"description": "Not modified (If-None-Match)"},
				"416": obj{"description": "The range is outside the file"},
			}, problems("404"))}},
		"/v1/jobs/{id}/artifacts/{name}": obj{"get": obj{"operationId": "downloadArtifact", "summary": "Download an artifact of a job (Range, HEAD, ETag = its sha256)", "tags": []string{"files"},
			"description": "A file the job wrote (its record's artifacts: an exec job's files in $CONVEYOR_OUTPUT_DIR, a Python job.artifact(name) or returned bytes/conveyor.File, a Go conveyor.CreateArtifact), streamed from the object store as an attachment named after it. Range: bytes=… answers 206 with that part; HEAD answers the headers alone. A job of another tenant, a name the job does not list, or an artifact that expired is 404. Needs the read scope.",
			"parameters": []obj{param("id", "path", "the job id", obj{"type": "string"}, true), param("name", "path", "the artifact's name", obj{"type": "string"}, true),
				param("Range", "header", "bytes=start-end", obj{"type": "string"}, false)},
			"responses": merge(obj{
				"200": obj{"description": "The artifact", "content": obj{"*/*": obj{"schema": obj{"type": "string", "format": "binary"}}}},
				"206": obj{"description": "The part of the artifact the Range asked for", "content": obj{"*/*": obj{"schema": obj{"type": "string", "format": "binary"}}}},
				"304": obj{"description": "Not modified (If-None-Match)"},
				"416": obj{"description": "The range is outside the artifact"},
			}, problems("404"))}},
		"/healthz": obj{"get": obj{"operationId": "health", "summary": "The process is up", "tags": []string{"health"},
			"responses": obj{"200": answer("Up", ref("Health"))}}},
		"/readyz": obj{"get": obj{"operationId": "ready", "summary": "The broker and the runner are up", "tags": []string{"health"},
			"responses": obj{"200": answer("Ready", ref("Health")), "503": answer("Not ready, with the failing checks", ref("Health"))}}},
	}
	tags := []obj{
		{"name": "jobs", "description": "Submit, read, wait for, list and cancel jobs of any algorithm."},
		{"name": "dead letters", "description": "Retry finished jobs, one or every match of a filter; cancel every match; delete finished jobs."},
		{"name": "schedules", "description": "Recurring jobs: every period or on a cron, kept by the broker's message scheduler."},
		{"name": "files", "description": "Upload files of any size, reference them in inputs as {\"$file\": id}, download them and the artifacts jobs write."},
		{"name": "registry", "description": "What runners serve, and which runners are alive."},
		{"name": "health", "description": "Liveness and readiness."},
	}
	for _, k := range g.reg.algorithms() {
		tags = append(tags, obj{"name": "algorithm: " + k.Name, "description": strings.TrimSpace(k.Description + " Kind: " + k.Kind + ".")})
		in := any(json.RawMessage(conveyor.AnyObjectSchema))
		if len(k.InputSchema) > 0 {
			in = k.InputSchema
		}
		var out any = obj{}
		if len(k.OutputSchema) > 0 {
			out = k.OutputSchema
		}
		desc := strings.TrimSpace(k.Description + " (kind " + k.Kind + ")")
		tag := []string{"algorithm: " + k.Name}
		paths["/v1/algorithms/"+k.Name] = obj{"get": obj{"operationId": "getAlgorithm_" + k.Name, "summary": "About " + k.Name, "tags": tag,
			"responses": obj{"200": answer("The algorithm, its runners and its queue", ref("AlgorithmInfo"))}}}
		paths["/v1/algorithms/"+k.Name+"/jobs"] = obj{"post": obj{"operationId": "submit_" + k.Name, "summary": "Submit a job of " + k.Name,
			"description": desc, "tags": tag, "parameters": shorthandParams, "requestBody": merge(jsonBody(in), obj{"required": true}),
			"responses": jobAnswers()}}
		paths["/v1/algorithms/"+k.Name+"/run"] = obj{"post": obj{"operationId": "run_" + k.Name, "summary": "Run " + k.Name + " and wait for its output",
			"description": desc + ". Synchronous: nothing is stored.", "tags": tag,
			"parameters":  []obj{param("timeout", "query", "how long to wait (default 30s)", obj{"type": "string"}, false)},
			"requestBody": merge(jsonBody(in), obj{"required": true}),
			"responses":   merge(obj{"200": answer("The output", out)}, problems("400", "404", "415", "422", "502", "503", "504"))}}
		paths["/v1/algorithms/"+k.Name+"/run"].(obj)["get"] = obj{"operationId": "runQuery_" + k.Name, "summary": "Run " + k.Name + " with its input in the query string",
			"description": desc + ". Synchronous, as the POST form: each query parameter is a property of the input, converted to the type its schema gives (timeout is the call's own).", "tags": tag,
			"parameters": []obj{param("timeout", "query", "how long to wait (default 30s)", obj{"type": "string"}, false)},
			"responses":  merge(obj{"200": answer("The output", out)}, problems("400", "404", "422", "502", "503", "504"))}
	}
	return obj{
		"openapi": "3.1.0",
		"info": obj{"title": "Conveyor", "version": conveyor.Version,
			"description": "Durable jobs over HTTP. Submit a job and get its id at once; read, wait for, list and cancel jobs; or run short work synchronously."},
		"tags":       tags,
		"paths":      paths,
		"components": obj{"schemas": components},
	}
}

//go:embed docs.html
var docsPage []byte

// handleDocs is GET /docs: a page that renders /openapi.json, served from
// the binary (no CDN).
func (g *Gateway) handleDocs(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(docsPage)
}
