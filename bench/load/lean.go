package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// leanConn is a minimal HTTP/1.1 keep-alive client on one connection, for
// the e2e-lean mode: what wrk is to bench/sync.sh. On a 2-core machine the
// load tool shares the cores with the server it measures, and Go's
// net/http client spends about twice the CPU per request that this does;
// the lean client lets more of the machine go to the server. It sends a
// request with a JSON body and reads an answer with a Content-Length —
// all Conveyor sends for jobs — and nothing else (no TLS, no redirects, no
// chunked bodies).
type leanConn struct {
	base string // as dialed
	host string
	c    net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
}

// dialLean connects to the server at base (http://host:port).
func dialLean(base string) (*leanConn, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("the lean client speaks plain http, not %s", u.Scheme)
	}
	c, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
	if err != nil {
		return nil, err
	}
	return &leanConn{base: base, host: u.Host, c: c, r: bufio.NewReader(c), w: bufio.NewWriter(c)}, nil
}

// do sends one request and returns the answer's status and body.
func (l *leanConn) do(method, path string, body []byte) (int, []byte, error) {
	if err := l.c.SetDeadline(time.Now().Add(2 * time.Minute)); err != nil {
		return 0, nil, err
	}
	fmt.Fprintf(l.w, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", method, path, l.host, len(body))
	l.w.Write(body)
	if err := l.w.Flush(); err != nil {
		return 0, nil, err
	}
	status, err := l.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	if len(status) < 12 || !bytes.HasPrefix(status, []byte("HTTP/1.1 ")) {
		return 0, nil, fmt.Errorf("bad status line %q", status)
	}
	code, err := strconv.Atoi(string(status[9:12]))
	if err != nil {
		return 0, nil, fmt.Errorf("bad status line %q", status)
	}
	length := -1
	for {
		h, err := l.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		if len(bytes.TrimSpace(h)) == 0 {
			break
		}
		if k, v, ok := bytes.Cut(h, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
				return 0, nil, fmt.Errorf("bad Content-Length %q", v)
			}
		}
	}
	if length < 0 {
		return 0, nil, errors.New("an answer without Content-Length: use a mode with Go's client")
	}
	data := make([]byte, length)
	if _, err := io.ReadFull(l.r, data); err != nil {
		return 0, nil, err
	}
	return code, data, nil
}

func (l *leanConn) close() { _ = l.c.Close() }
