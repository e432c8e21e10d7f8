package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/conveyor-run/conveyor"
)

// Limits on what a client controls. A request past one gets a 4xx
// problem saying which; none of them can make the gateway use memory or
// goroutines without bound.
const (
	// maxJSONDepth caps how deeply a request body's JSON nests: objects
	// and arrays inside each other. Schema validation and every reader
	// of the input recurse that deep.
	maxJSONDepth = 64
	// DefaultMaxWait caps ?wait= and a synchronous call's ?timeout=. A
	// longer wait is clamped, not refused: a long poll that ends early
	// with the job not yet final is an ordinary answer clients loop on.
	DefaultMaxWait = 60 * time.Second
	// DefaultBodyTimeout bounds how long a client may take to send a
	// request body, so that a slow sender cannot hold a connection and
	// its goroutine for ever. Headers are bounded by the HTTP server's
	// ReadHeaderTimeout.
	DefaultBodyTimeout = 60 * time.Second
	// DefaultMaxStreams caps the event streams (SSE) open at once per
	// token, or per client address when the API has no tokens.
	DefaultMaxStreams = 64
)

// checkDepth returns EINVALID when the JSON in data nests deeper than
// maxJSONDepth. It only counts brackets outside strings; whether data is
// valid JSON is for the decoder to say.
func checkDepth(data []byte) error {
	depth, inString, escaped := 0, false, false
	for _, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > maxJSONDepth {
				return conveyor.Errorf(conveyor.EINVALID, "the JSON nests deeper than %d levels", maxJSONDepth)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// readBody reads a request body within MaxBody bytes and BodyTimeout. A
// body over the limit is a *http.MaxBytesError (413), one too slow
// ESLOW (408). The read deadline applies to the body only: it is lifted
// once the body is read, so a long poll or a slow answer that follows is
// not cut.
//
// A body whose Content-Length is over the limit is refused before any of
// it is read, so that a client sending "Expect: 100-continue" gets no
// 100 Continue, only the 413, and sends nothing more: reading part of
// such a body and then closing the connection under the client's feet
// could lose the answer. A chunked body is checked as it is read.
func (g *Gateway) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > g.cfg.MaxBody {
		return nil, &http.MaxBytesError{Limit: g.cfg.MaxBody}
	}
	rc := http.NewResponseController(w)
	deadlineSet := rc.SetReadDeadline(time.Now().Add(g.cfg.BodyTimeout)) == nil
	data, err := readAll(http.MaxBytesReader(w, r.Body, g.cfg.MaxBody), r.ContentLength)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The deadline stays: the server would otherwise wait for the
		// rest of the body before it answers.
		return nil, conveyor.Errorf(conveyor.ESLOW, "the request body took longer than %s to arrive", g.cfg.BodyTimeout)
	}
	if deadlineSet {
		_ = rc.SetReadDeadline(time.Time{})
	}
	return data, err
}

// readAll is io.ReadAll of a body of size bytes (-1: unknown), read into
// one buffer of that size rather than one grown by doubling as it comes.
func readAll(r io.Reader, size int64) ([]byte, error) {
	if size <= 0 {
		return io.ReadAll(r)
	}
	buf := make([]byte, 0, size+1) // +1: room for the read that sees the end
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return buf, err
		case len(buf) == cap(buf):
			// More than announced (the server stops that): the rest as it comes.
			rest, err := io.ReadAll(r)
			return append(buf, rest...), err
		}
	}
}

// streams counts the open event streams of each token or client.
type streams struct {
	max  int
	mu   sync.Mutex
	open map[string]int
}

// acquire takes one stream slot of key and returns its release, or
// ETOOMANY when key has max open.
func (s *streams) acquire(key string) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[key] >= s.max {
		return nil, conveyor.Errorf(conveyor.ETOOMANY, "at most %d event streams may be open at once per client; close one first", s.max)
	}
	s.open[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.open[key]--; s.open[key] == 0 {
				delete(s.open, key)
			}
		})
	}, nil
}

// limitStreams wraps an event-stream handler so that a token (or, without
// tokens, a client address) holds at most MaxStreams streams at once: 429
// past it.
func (g *Gateway) limitStreams(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		release, err := g.streams.acquire(clientKey(r.Context(), r))
		if err != nil {
			g.writeError(w, r, err)
			return
		}
		defer release()
		h(w, r)
	}
}

// clientKey names who a request comes from for per-client limits: its
// token, else its remote address without the port.
func clientKey(ctx context.Context, r *http.Request) string {
	if tok, _ := ctx.Value(tokenKey{}).(*Token); tok != nil {
		return "token:" + tok.Name
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "addr:" + host
}
