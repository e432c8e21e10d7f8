package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/conveyor-run/conveyor"
)

// Client calls one Conveyor server. Create it with New; it is safe for
// concurrent use.
type Client struct {
	base      string // scheme://host[/prefix], without a trailing slash
	http      *http.Client
	token     string
	userAgent string
	rootCAs   *x509.CertPool
}

// Option configures a Client in New.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests with hc instead of a
// plain &http.Client{}. A Timeout on hc bounds every request, including the
// long polls of Wait and of Submit with the Wait option, so it must be
// longer than those (by default up to DefaultPollInterval); prefer contexts.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithToken makes the Client authenticate with token, sent as
// "Authorization: Bearer <token>" on every request. An empty token sends none.
func WithToken(token string) Option {
	return func(c *Client) { c.token = token }
}

// WithRootCAs makes the Client trust the servers whose certificates pool
// verifies, instead of the system's roots: for a gateway serving HTTPS
// with a private CA or a self-signed certificate. It applies to the
// transport of the client's *http.Client (a clone of it, when it is an
// *http.Transport; of http.DefaultTransport otherwise).
func WithRootCAs(pool *x509.CertPool) Option {
	return func(c *Client) { c.rootCAs = pool }
}

// LoadCACert reads PEM certificates from file into a pool for
// WithRootCAs. It returns an error if the file cannot be read or holds no
// certificate.
func LoadCACert(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", file)
	}
	return pool, nil
}

// WithUserAgent sets the User-Agent header of every request; the default is
// "conveyor-go/" followed by conveyor.Version.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a Client for the server at baseURL, an http or https URL
// such as "http://127.0.0.1:8080" that may end in a path prefix under which
// the API is mounted ("https://example.com/conveyor"). It returns an
// EINVALID error when baseURL is not such a URL. New does not contact the
// server.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, conveyor.Errorf(conveyor.EINVALID, "invalid server URL %q: %w", baseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, conveyor.Errorf(conveyor.EINVALID, "invalid server URL %q: want http:// or https:// and a host, like http://127.0.0.1:8080", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, conveyor.Errorf(conveyor.EINVALID, "invalid server URL %q: it may not have a query or a fragment", baseURL)
	}
	c := &Client{
		base:      strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"),
		http:      &http.Client{},
		userAgent: "conveyor-go/" + conveyor.Version,
	}
	for _, opt := range opts {
		opt(c)
	}
	if c.rootCAs != nil {
		tr, ok := c.http.Transport.(*http.Transport)
		if !ok {
			tr = http.DefaultTransport.(*http.Transport)
		}
		tr = tr.Clone()
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{}
		}
		tr.TLSClientConfig.RootCAs = c.rootCAs
		hc := *c.http
		hc.Transport = tr
		c.http = &hc
	}
	return c, nil
}

// BaseURL returns the server URL the Client calls, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// send makes one request and returns the response whatever its status. body,
// when not nil, is sent as JSON. The errors it returns are an EINVALID error
// for a request that cannot be built, the context's error, or an
// EUNAVAILABLE error for a server that cannot be reached.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, conveyor.Errorf(conveyor.EINVALID, "cannot encode the request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, conveyor.Errorf(conveyor.EINVALID, "cannot build the request: %w", err)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.roundTrip(ctx, req)
}

// roundTrip sends req, identified, and returns the response whatever its
// status, or the context's error, or EUNAVAILABLE.
func (c *Client) roundTrip(ctx context.Context, req *http.Request) (*http.Response, error) {
	c.identify(req)
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err // a *url.Error that wraps ctx.Err()
		}
		cause := err
		var ue *url.Error
		if errors.As(err, &ue) {
			cause = ue.Err
		}
		return nil, &conveyor.Error{
			Code:    conveyor.EUNAVAILABLE,
			Message: fmt.Sprintf("cannot reach the server at %s: %v", c.base, cause),
			Err:     err,
		}
	}
	return resp, nil
}

// do makes one request and decodes a 2xx response's JSON body into out (when
// not nil). Any other status becomes an *APIError. It returns the status.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) (int, error) {
	resp, err := c.send(ctx, method, path, query, body)
	if err != nil {
		return 0, err
	}
	defer closeBody(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, responseError(resp)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			if ctx.Err() != nil {
				return resp.StatusCode, fmt.Errorf("reading the response: %w", ctx.Err())
			}
			return resp.StatusCode, &conveyor.Error{
				Code:    conveyor.EINTERNAL,
				Message: fmt.Sprintf("%s %s: the server sent an unreadable response: %v", method, path, err),
				Err:     err,
			}
		}
	}
	return resp.StatusCode, nil
}

// closeBody drains a little of what is left of the body, so the connection
// can be reused, and closes it.
func closeBody(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// jobPath returns the path of the job id, or an EINVALID error for an empty id.
func jobPath(id string, suffix string) (string, error) {
	if id == "" {
		return "", conveyor.Errorf(conveyor.EINVALID, "missing job id")
	}
	return "/v1/jobs/" + url.PathEscape(id) + suffix, nil
}

// identify sets the headers every request carries: the token, the user
// agent and the trace context of the request's context.
func (c *Client) identify(req *http.Request) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if tp := conveyor.TraceparentFrom(req.Context()); tp != "" {
		req.Header.Set("traceparent", tp)
	}
}
