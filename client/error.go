package client

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor-run/conveyor"
)

// APIError is an error response of the server. It unwraps to Err, a
// *conveyor.Error, so conveyor.ErrorCode and errors.As(err, **conveyor.Error)
// see through it; use errors.As(err, **APIError) for the HTTP details:
//
//	var apiErr *client.APIError
//	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusTooManyRequests {
//		time.Sleep(apiErr.RetryAfter)
//	}
type APIError struct {
	// StatusCode is the HTTP status of the response.
	StatusCode int
	// Problem is the RFC 9457 problem the server sent; its zero value when
	// the body was not a problem (a proxy's error page, say).
	Problem conveyor.Problem
	// RetryAfter is the delay the Retry-After header asked for (429 and
	// 503 responses), or zero.
	RetryAfter time.Duration
	// Err is the error as a coded domain error: Code is Problem.Code or, when
	// the server sent none, the code that StatusCode implies; Message is
	// Problem.Detail, else Problem.Title, else the status text; Details are
	// Problem.Errors, one per schema violation.
	Err *conveyor.Error
}

// Error returns the server's message.
func (e *APIError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *APIError) Unwrap() error { return e.Err }

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 1 << 20

// responseError returns the *APIError for a response with a non-2xx status.
func responseError(resp *http.Response) *APIError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return newAPIError(resp, body)
}

// newAPIError returns the *APIError for a response with a non-2xx status
// whose body is body.
func newAPIError(resp *http.Response, body []byte) *APIError {
	e := &APIError{
		StatusCode: resp.StatusCode,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
	var p conveyor.Problem
	if isJSON(resp.Header.Get("Content-Type")) && json.Unmarshal(body, &p) == nil {
		e.Problem = p
	}
	code := p.Code
	if code == "" {
		code = codeForStatus(resp.StatusCode)
	}
	msg := p.Detail
	if msg == "" {
		msg = p.Title
	}
	if msg == "" {
		msg = statusLine(resp.StatusCode)
		if snippet := firstLine(body); snippet != "" && !isJSON(resp.Header.Get("Content-Type")) {
			msg += ": " + snippet
		}
	}
	e.Err = &conveyor.Error{Code: code, Message: msg, Details: p.Errors}
	return e
}

// codeForStatus is the error code an HTTP status implies, for error
// responses that carry none. It inverts the gateway's mapping.
func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return conveyor.EINVALID
	case http.StatusNotFound, http.StatusGone:
		return conveyor.ENOTFOUND
	case http.StatusConflict:
		return conveyor.ECONFLICT
	case http.StatusRequestEntityTooLarge:
		return conveyor.ETOOLARGE
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusBadGateway:
		return conveyor.EUNAVAILABLE
	case http.StatusGatewayTimeout, http.StatusRequestTimeout:
		return conveyor.ETIMEOUT
	case http.StatusNotImplemented:
		return conveyor.EUNSUPPORTED
	}
	if status >= 400 && status < 500 {
		return conveyor.EINVALID
	}
	return conveyor.EINTERNAL
}

// isJSON reports whether the media type ct is JSON (application/json,
// application/problem+json, ...).
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// parseRetryAfter reads a Retry-After value, delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}

func statusLine(status int) string {
	if text := http.StatusText(status); text != "" {
		return fmt.Sprintf("%d %s", status, text)
	}
	return fmt.Sprintf("HTTP status %d", status)
}

// firstLine returns the first non-blank line of b, cut to 200 runes.
func firstLine(b []byte) string {
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if r := []rune(line); len(r) > 200 {
			line = string(r[:200]) + "…"
		}
		return line
	}
	return ""
}
