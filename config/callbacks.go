package config

import (
	"net"
	"strconv"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/services"
)

// Callbacks configures completion callbacks. With no AllowHosts (the
// default) a submit with a callback_url is refused, so the gateway cannot
// be made to POST to hosts its operator did not name.
type Callbacks struct {
	// AllowHosts are the "host[:port]" a callback_url may name. A host
	// without a port allows the scheme's default port only.
	AllowHosts []string `yaml:"allow_hosts"`
	// SecretEnv names the environment variable holding the HMAC-SHA256
	// key that signs every callback (X-Conveyor-Signature). Required with
	// AllowHosts.
	SecretEnv string `yaml:"secret_env"`
	// Timeout bounds one delivery attempt. Default 10s.
	Timeout conveyor.Duration `yaml:"timeout"`
	// Backoff is the delay before the first retry; each next one doubles,
	// up to an hour, and each is jittered within its upper half. Default 1s.
	Backoff conveyor.Duration `yaml:"backoff"`
	// RetryFor is how long after the job finished delivery is retried
	// before it is given up. Default 24h.
	RetryFor conveyor.Duration `yaml:"retry_for"`
}

// Defaults of the callbacks section: the callback service's.
const (
	DefaultCallbackTimeout  = services.DefaultCallbackTimeout
	DefaultCallbackBackoff  = services.DefaultCallbackBackoff
	DefaultCallbackRetryFor = services.DefaultCallbackRetryFor
)

// WithDefaults fills the unset fields of the callbacks section.
func (c *Callbacks) WithDefaults() {
	if c.Timeout == 0 {
		c.Timeout = conveyor.Duration(DefaultCallbackTimeout)
	}
	if c.Backoff == 0 {
		c.Backoff = conveyor.Duration(DefaultCallbackBackoff)
	}
	if c.RetryFor == 0 {
		c.RetryFor = conveyor.Duration(DefaultCallbackRetryFor)
	}
}

// validateTrust checks the callbacks, TLS, user and rlimits settings.
// validateCallbacks checks the callbacks section.
func (c *Config) validateCallbacks(add func(string, ...any)) {
	for _, h := range c.Callbacks.AllowHosts {
		host := h
		if hp, port, err := net.SplitHostPort(h); err == nil {
			host = hp
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				add("callbacks.allow_hosts: %q has a bad port", h)
			}
		}
		if host == "" {
			add("callbacks.allow_hosts: %q has no host", h)
		}
	}
	if len(c.Callbacks.AllowHosts) > 0 && c.Callbacks.SecretEnv == "" {
		add("callbacks.secret_env is required with callbacks.allow_hosts: callbacks are always signed")
	}
	if c.Callbacks.Timeout < 0 || c.Callbacks.Backoff < 0 || c.Callbacks.RetryFor < 0 {
		add("callbacks: timeout, backoff and retry_for must not be negative")
	}
}
