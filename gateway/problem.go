package gateway

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/conveyor-run/conveyor"
)

// statusOf maps each error code to its HTTP status, once for the whole API.
var statusOf = map[string]int{
	conveyor.EINVALID:      http.StatusBadRequest,
	conveyor.ENOTFOUND:     http.StatusNotFound,
	conveyor.ECONFLICT:     http.StatusConflict,
	conveyor.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	conveyor.EUNAVAILABLE:  http.StatusServiceUnavailable,
	conveyor.ETIMEOUT:      http.StatusGatewayTimeout,
	conveyor.EUNSUPPORTED:  http.StatusNotImplemented,
	conveyor.EFAILED:       http.StatusUnprocessableEntity,
	conveyor.EFULL:         http.StatusTooManyRequests,
	conveyor.ETOOMANY:      http.StatusTooManyRequests,
	conveyor.ESLOW:         http.StatusRequestTimeout,
	conveyor.EUNAUTHORIZED: http.StatusUnauthorized,
	conveyor.EFORBIDDEN:    http.StatusForbidden,
	conveyor.EINTERNAL:     http.StatusInternalServerError,
	conveyor.EMEDIATYPE:    http.StatusUnsupportedMediaType,
	conveyor.EMISDIRECTED:  http.StatusMisdirectedRequest,
	conveyor.EBADGATEWAY:   http.StatusBadGateway,
	conveyor.ESTORAGE:      http.StatusInsufficientStorage,
}

// retryAfterFull is the Retry-After, in seconds, of a 429 for a full queue.
const retryAfterFull = "1"

// writeError answers with err as an RFC 9457 problem. Errors without a code
// are internal: they are logged and the client sees only "internal error".
func (g *Gateway) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = conveyor.Errorf(conveyor.ETOOLARGE, "request body is over the limit of %d bytes", mbe.Limit)
	}
	code := conveyor.ErrorCode(err)
	status := statusOf[code]
	p := conveyor.Problem{
		Type:     "https://conveyor.dev/problems/" + code,
		Title:    http.StatusText(status),
		Status:   status,
		Detail:   conveyor.ErrorMessage(err),
		Instance: r.URL.Path,
		Code:     code,
	}
	var ce *conveyor.Error
	if errors.As(err, &ce) {
		p.Errors = ce.Details
	}
	var je *conveyor.JobError
	if errors.As(err, &je) {
		p.Error = je
	}
	if code == conveyor.EINTERNAL || code == conveyor.EUNAVAILABLE {
		attrs := []any{"method", r.Method, "path", r.URL.Path, "err", err}
		if id := r.PathValue("id"); id != "" {
			attrs = append(attrs, "job_id", id)
		}
		if name := r.PathValue("name"); name != "" {
			attrs = append(attrs, "algorithm", name)
		}
		g.log.Error("request failed", attrs...)
	}
	switch code {
	case conveyor.EFULL, conveyor.ETOOMANY:
		w.Header().Set("Retry-After", retryAfterFull)
	case conveyor.EUNAUTHORIZED:
		w.Header().Set("WWW-Authenticate", `Bearer realm="conveyor"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// notFound answers every path outside the API.
func (g *Gateway) notFound(w http.ResponseWriter, r *http.Request) {
	g.writeError(w, r, conveyor.Errorf(conveyor.ENOTFOUND, "no such endpoint: %s %s", r.Method, r.URL.Path))
}
