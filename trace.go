package conveyor

import "context"

// A job may carry the W3C Trace Context `traceparent` of the request that
// submitted it (https://www.w3.org/TR/trace-context/#traceparent-header),
// so that the work it does can be traced as part of that request: runners
// hand it to the work (the CONVEYOR_TRACEPARENT environment variable of an
// exec process, the job message of a worker, the traceparent header of an
// http algorithm, TraceparentFrom in a Go handler).

// ValidTraceparent reports whether s is a traceparent header value Conveyor
// passes on: version 00 (or a later version, which starts the same way
// and may add fields), a trace id and a parent id that are not all zeros,
// and trace flags, all lower-case hex.
func ValidTraceparent(s string) bool {
	if len(s) < 55 || len(s) > 256 || (len(s) > 55 && (s[:2] == "00" || s[55] != '-')) {
		return false
	}
	if s[2] != '-' || s[35] != '-' || s[52] != '-' || s[:2] == "ff" {
		return false
	}
	hex := func(f string) bool {
		zero := true
		for i := 0; i < len(f); i++ {
			c := f[i]
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
			zero = zero && c == '0'
		}
		return !zero || len(f) <= 2
	}
	return hex(s[:2]) && hex(s[3:35]) && hex(s[36:52]) && hex(s[53:55])
}

type traceparentKey struct{}

// WithTraceparent returns a context carrying a job's traceparent.
func WithTraceparent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return context.WithValue(ctx, traceparentKey{}, traceparent)
}

// TraceparentFrom returns the traceparent of the job whose context ctx is,
// or "" when it has none.
func TraceparentFrom(ctx context.Context) string {
	s, _ := ctx.Value(traceparentKey{}).(string)
	return s
}
