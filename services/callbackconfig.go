package services

import (
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/backoff"
)

// CallbackConfig configures completion callbacks. With no AllowHosts a
// submit with a callback_url is refused (400): callbacks go only to hosts
// the operator named, so a client cannot point them at an internal
// service (SSRF).
type CallbackConfig struct {
	// AllowHosts are the "host[:port]" a callback_url may name; a host
	// without a port allows the scheme's default port only.
	AllowHosts []string
	// Secret is the HMAC-SHA256 key of X-Conveyor-Signature.
	Secret []byte
	// Timeout bounds one POST. Default 10s.
	Timeout time.Duration
	// Backoff is the delay before the first retry; it doubles with each
	// failed attempt, up to an hour. Each delay is jittered within its
	// upper half. Default 1s.
	Backoff time.Duration
	// RetryFor is how long after the job finished a failing delivery is
	// retried before it is given up. Default 24h.
	RetryFor time.Duration
}

// Defaults of CallbackConfig.
const (
	DefaultCallbackTimeout  = 10 * time.Second
	DefaultCallbackBackoff  = time.Second
	DefaultCallbackRetryFor = 24 * time.Hour
)

// maxCallbackURL caps the length of a callback_url.
const maxCallbackURL = 2048

// CheckURL returns EINVALID unless raw is an absolute http(s) URL
// without credentials whose host (and port) the allow-list names.
func (c *CallbackConfig) CheckURL(raw string) error {
	if len(raw) > maxCallbackURL {
		return conveyor.Errorf(conveyor.EINVALID, "callback_url is longer than %d bytes", maxCallbackURL)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return conveyor.Errorf(conveyor.EINVALID, "callback_url must be an absolute http or https URL without credentials")
	}
	if !c.allowed(u) {
		return conveyor.Errorf(conveyor.EINVALID, "callback_url host %q is not in callbacks.allow_hosts", u.Host)
	}
	return nil
}

// allowed reports whether the allow-list names u's host and port.
func (c *CallbackConfig) allowed(u *url.URL) bool {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return slices.ContainsFunc(c.AllowHosts, func(a string) bool {
		ah, ap, err := net.SplitHostPort(a)
		if err != nil {
			ah, ap = strings.Trim(a, "[]"), map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		return strings.EqualFold(ah, host) && ap == port
	})
}

// callbackRetryMax caps the delay between two attempts of a callback.
const callbackRetryMax = time.Hour

// backoff is the delay after the attempts-th failed attempt (from 1):
// Backoff doubled per attempt, at most an hour, jittered within its upper
// half so that the callbacks a receiver failed while it was down do not
// all come back to it at once.
func (c *CallbackConfig) backoff(attempts int) time.Duration {
	return backoff.Policy{Base: c.Backoff, Max: callbackRetryMax}.Delay(attempts - 1)
}
