package gateway

import (
	"net/http"

	"github.com/conveyor-run/conveyor"
)

// traceparent returns the request's W3C traceparent header, to be stored
// on the job it submits; "" when it has none or an invalid one, which the
// Trace Context spec says to ignore rather than refuse.
func traceparent(r *http.Request) string {
	if v := r.Header.Values("traceparent"); len(v) == 1 && conveyor.ValidTraceparent(v[0]) {
		return v[0]
	}
	return ""
}
