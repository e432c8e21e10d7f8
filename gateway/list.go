package gateway

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/jobindex"
)

const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// listParams are the query parameters GET /v1/jobs takes, as
// /openapi.json documents them (parseList reads these, and refuses any
// other with a 400, so that a misspelt filter is never silently ignored).
var listParams = []obj{
	param("algorithm", "query", "only jobs of this algorithm", obj{"type": "string"}, false),
	param("status", "query", "only jobs in any of these statuses, comma-separated ("+strings.Join(statusNames(), ", ")+")", obj{"type": "string"}, false),
	param("label", "query", "only jobs with this label, as key=value; repeat it: every one must match", obj{"type": "array", "items": obj{"type": "string"}}, false),
	param("created_after", "query", "only jobs created at or after this RFC 3339 time", obj{"type": "string", "format": "date-time"}, false),
	param("created_before", "query", "only jobs created before this RFC 3339 time", obj{"type": "string", "format": "date-time"}, false),
	param("tenant", "query", "only jobs of this tenant (admin tokens; a tenant's token lists its own)", obj{"type": "string"}, false),
	param("q", "query", "only jobs whose id starts with this", obj{"type": "string"}, false),
	param("cursor", "query", "next_cursor of the previous page", obj{"type": "string"}, false),
	param("limit", "query", "page size (1–500, default 50)", obj{"type": "integer", "minimum": 1, "maximum": maxPageSize}, false),
	param("order", "query", "newest first (the default) or oldest first", obj{"type": "string", "enum": []string{"newest", "oldest"}}, false),
	param("include", "query", "add the jobs' input and/or output: input, output or input,output", obj{"type": "string"}, false),
}

// paramNames returns the names of params.
func paramNames(params []obj) []string {
	names := make([]string, len(params))
	for i, p := range params {
		names[i] = p["name"].(string)
	}
	return names
}

// statusNames returns the statuses as a query parameter spells them.
func statusNames() []string {
	names := make([]string, len(conveyor.Statuses))
	for i, st := range conveyor.Statuses {
		names[i] = string(st)
	}
	return names
}

// listQuery is a GET /v1/jobs request, read and checked.
type listQuery struct {
	filter        jobindex.Filter
	page          jobindex.Page
	input, output bool // ?include=
}

// parseList reads the query of GET /v1/jobs:
//
//	algorithm=NAME           jobs of one algorithm
//	status=S[,S…]            in any of these statuses
//	label=KEY=VALUE          with this label (repeatable: every one must match)
//	created_after=RFC3339    created at or after
//	created_before=RFC3339   created before
//	tenant=NAME              of this tenant (admin tokens only; others see their own)
//	q=PREFIX                 whose id starts with PREFIX
//	order=newest|oldest      newest first (the default) or oldest first
//	include=input,output     add the jobs' input and/or output
//	cursor=…, limit=N        paging: next_cursor of the previous page; 1–500, default 50
//
// It returns an EINVALID error naming the parameter for an unknown
// parameter or a malformed value.
func parseList(r *http.Request) (listQuery, error) {
	q := r.URL.Query()
	var lq listQuery
	bad := func(param, format string, args ...any) error {
		return conveyor.Errorf(conveyor.EINVALID, "query parameter %s: "+format, append([]any{param}, args...)...)
	}
	names := paramNames(listParams)
	for name, values := range q {
		if !slices.Contains(names, name) {
			return lq, conveyor.Errorf(conveyor.EINVALID, "unknown query parameter %q (GET /v1/jobs takes %s)", name, strings.Join(names, ", "))
		}
		if len(values) > 1 && name != "label" {
			return lq, bad(name, "given %d times, want once", len(values))
		}
	}
	f := &lq.filter
	f.Algorithm = q.Get("algorithm")
	if s := q.Get("status"); s != "" {
		for _, part := range strings.Split(s, ",") {
			st, err := conveyor.ParseStatus(strings.TrimSpace(part))
			if err != nil {
				return lq, bad("status", "%v", err)
			}
			if !slices.Contains(f.Statuses, st) {
				f.Statuses = append(f.Statuses, st)
			}
		}
	}
	for _, l := range q["label"] {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return lq, bad("label", "%q: want key=value", l)
		}
		if f.Labels == nil {
			f.Labels = map[string]string{}
		}
		if have, dup := f.Labels[k]; dup && have != v {
			return lq, bad("label", "key %q given twice with different values: no job matches", k)
		}
		f.Labels[k] = v
	}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"created_after", &f.CreatedAfter}, {"created_before", &f.CreatedBefore}} {
		if s := q.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return lq, bad(p.name, "%q is not an RFC 3339 time (e.g. 2026-12-05T10:00:00Z)", s)
			}
			*p.t = t
		}
	}
	f.IDPrefix = strings.ToUpper(q.Get("q"))
	if f.IDPrefix != "" && strings.ContainsFunc(f.IDPrefix, func(c rune) bool { return !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') }) {
		return lq, bad("q", "%q is not the start of a job id", q.Get("q"))
	}
	f.Tenant, f.AllTenants = tenantOf(r.Context())
	if t, ok := q["tenant"]; ok {
		if !f.AllTenants {
			return lq, conveyor.Errorf(conveyor.EFORBIDDEN, "query parameter tenant: a token of a tenant lists its own jobs only")
		}
		f.Tenant, f.AllTenants = t[0], false
	}
	switch o := q.Get("order"); o {
	case "", "newest":
	case "oldest":
		lq.page.Oldest = true
	default:
		return lq, bad("order", "%q: want newest or oldest", o)
	}
	for _, part := range strings.Split(q.Get("include"), ",") {
		switch strings.TrimSpace(part) {
		case "":
		case "input":
			lq.input = true
		case "output":
			lq.output = true
		default:
			return lq, bad("include", "%q: want input, output or both", part)
		}
	}
	lq.page.Cursor = q.Get("cursor")
	if lq.page.Cursor != "" && !validCursor(lq.page.Cursor) {
		return lq, bad("cursor", "%q is not a cursor this API gave", lq.page.Cursor)
	}
	lq.page.Limit = defaultPageSize
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageSize {
			return lq, bad("limit", "%q: want an integer from 1 to %d", s, maxPageSize)
		}
		lq.page.Limit = n
	}
	return lq, nil
}

// validCursor reports whether s can be a cursor: the id of a job.
func validCursor(s string) bool {
	return len(s) <= 64 && !strings.ContainsFunc(s, func(c rune) bool {
		return !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-' || c == '_')
	})
}
