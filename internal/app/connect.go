package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/backoff"
)

// reconnectBackoff is the wait before each pass over the servers, when
// connecting and reconnecting: a lost server is retried at once (the client
// moves to the next server of the cluster), then ever more slowly, 100 ms
// doubling up to 5 s, forever. The waits are jittered so that many clients
// of a lost node do not come back in step.
var reconnectBackoff = backoff.Policy{Base: 100 * time.Millisecond, Max: 5 * time.Second}

// connectWait bounds how long a process starting with its brokers waits
// for the first of them to accept it.
const connectWait = time.Minute

// dial connects to the external NATS server or cluster of c as the client
// named name: with its credentials and TLS, reconnecting forever with
// backoff, and logging each disconnect and reconnect. While no server
// accepts the first connection (the brokers are starting too) it retries
// for up to connectWait; an authorization error is final at once.
func dial(ctx context.Context, c config.NATS, name string, log *slog.Logger) (*nats.Conn, error) {
	opts := clientOptions(c, name, log)
	deadline := time.Now().Add(connectWait)
	for attempt := 0; ; attempt++ {
		nc, err := nats.Connect(c.URL, opts...)
		if err == nil {
			return nc, nil
		}
		d := reconnectBackoff.Delay(attempt)
		if !errors.Is(err, nats.ErrNoServers) || time.Now().Add(d).After(deadline) {
			return nil, fmt.Errorf("%s%s: %w", redactURLs(c.URL), presenting(c), err)
		}
		log.Warn("no NATS server answers yet, retrying", "conn", name, "url", redactURLs(c.URL), "err", err, "retry_in", d.Round(time.Millisecond))
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// clientOptions are the nats.go options for c.
func clientOptions(c config.NATS, name string, log *slog.Logger) []nats.Option {
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(false),
		nats.CustomReconnectDelay(reconnectBackoff.Delay),
		// Up to 8 MiB of publishes are buffered while reconnecting; the
		// callers' own retries cover what does not fit.
		nats.ReconnectBufSize(8 << 20),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if nc.IsClosed() {
				return // a Close, not a lost server
			}
			log.Warn("lost the NATS server, reconnecting", "conn", name, "server", nc.ConnectedUrlRedacted(), "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("reconnected to NATS", "conn", name, "server", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(nc *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("NATS", "conn", name, "err", err)
		}),
	}
	if c.Creds != "" {
		opts = append(opts, nats.UserCredentials(c.Creds))
	}
	if c.User != "" {
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	}
	if c.Token != "" {
		opts = append(opts, nats.Token(c.Token))
	}
	if c.TLS.CA != "" {
		opts = append(opts, nats.RootCAs(c.TLS.CA))
	}
	if c.TLS.Cert != "" {
		opts = append(opts, nats.ClientCert(c.TLS.Cert, c.TLS.Key))
	}
	return opts
}

// presenting says which credentials of c a connection presents, for an
// error: " with nats.creds FILE", " as user NAME", " with nats.token" or "".
func presenting(c config.NATS) string {
	switch {
	case c.Creds != "":
		return " with nats.creds " + c.Creds
	case c.User != "":
		return " as user " + c.User
	case c.Token != "":
		return " with nats.token"
	}
	return ""
}

// redactURLs returns a comma-separated list of NATS URLs with the secrets
// in them masked: a password, or a user part without one (a token).
func redactURLs(urls string) string {
	list := strings.Split(urls, ",")
	for i, raw := range list {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || u.User == nil {
			continue
		}
		if _, ok := u.User.Password(); !ok {
			u.User = url.User("xxxxx")
		}
		list[i] = u.Redacted()
	}
	return strings.Join(list, ",")
}
