package conveyor

import (
	"errors"
	"fmt"
)

// Error codes. Each names a class of failure that the edges of the system
// (HTTP, CLI) map to one response; anything without a code is EINTERNAL and
// its text is never shown to a client.
const (
	EINVALID      = "invalid"              // the request is malformed or violates a schema
	ENOTFOUND     = "not_found"            // no such job or algorithm
	ECONFLICT     = "conflict"             // the request conflicts with the current state
	ETOOLARGE     = "too_large"            // the request body is over the limit
	EUNAVAILABLE  = "unavailable"          // a dependency (broker, runner) cannot serve now
	ETIMEOUT      = "timeout"              // a deadline passed before the work finished
	EINTERNAL     = "internal"             // a bug or an unexpected failure
	EUNSUPPORTED  = "unsupported"          // a feature this server does not offer
	EFAILED       = "failed"               // the algorithm ran and failed
	EFULL         = "queue_full"           // the queue holds as many jobs as it may
	EUNAUTHORIZED = "unauthorized"         // no valid credentials
	EFORBIDDEN    = "forbidden"            // valid credentials without the right
	ETOOMANY      = "too_many"             // the client holds as much as it may (open streams)
	ESLOW         = "too_slow"             // the client took too long to send its request
	EMEDIATYPE    = "media_type"           // a request body of a type the endpoint does not take
	EMISDIRECTED  = "misdirected"          // a request for a host this server does not answer for
	EBADGATEWAY   = "bad_gateway"          // the service an algorithm forwards to could not be reached
	ESTORAGE      = "insufficient_storage" // the server's disk is (nearly) full
)

// Error is a coded domain error: Code says what kind of failure it is,
// Message is safe to show a client, Details carry structured specifics
// (for example one entry per schema violation).
type Error struct {
	Code    string
	Message string
	Details []Violation
	Err     error // the cause, for logs; never shown to a client
}

// Violation is one way an input fails its schema: Pointer is the JSON
// pointer (RFC 6901) to the offending value, Message says what is wrong.
type Violation struct {
	Pointer string `json:"pointer"`
	Message string `json:"message"`
}

// Errorf returns an *Error with the given code and a formatted message.
// Like fmt.Errorf, %w wraps the cause so errors.Is and errors.As see it.
func Errorf(code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of the first *Error in err's chain, "" for nil,
// and EINTERNAL for any other error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err: the message of its
// *Error, or a generic text for an error without a code.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// permanent marks an error that must not be retried.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent wraps err so the runner fails the job at once instead of
// retrying it: for input the algorithm can never process.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err, or an error it wraps, was marked by
// Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}
