package config

import (
	"fmt"
	"github.com/conveyor-run/conveyor/services"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/conveyor-run/conveyor"
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

// ServerTLS names a server's certificate and its key, PEM files.
type ServerTLS struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Rlimits are resource limits set on each process of an exec or worker
// algorithm (Linux). Zero means unlimited (inherited).
type Rlimits struct {
	// Memory caps the address space (RLIMIT_AS), e.g. 512MiB.
	Memory ByteSize `yaml:"memory"`
	// CPUSeconds caps the CPU time of one process (RLIMIT_CPU): past it
	// the process is killed (SIGXCPU, then SIGKILL).
	CPUSeconds int `yaml:"cpu_seconds"`
	// OpenFiles caps the file descriptors (RLIMIT_NOFILE).
	OpenFiles int `yaml:"open_files"`
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
func (c *Config) validateTrust(add func(string, ...any)) {
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
	if c.HTTP.MaxWait < 0 || c.HTTP.MaxEventStreams < 0 || c.HTTP.BodyTimeout < 0 {
		add("http.max_wait, http.max_event_streams and http.body_timeout must not be negative")
	}
	if (c.HTTP.TLS.Cert == "") != (c.HTTP.TLS.Key == "") {
		add("http.tls: give both cert and key")
	}
	for i, a := range c.Algorithms {
		where := fmt.Sprintf("algorithms[%d]", i)
		if a.Name != "" {
			where += " (" + a.Name + ")"
		}
		// The user itself is looked up by the runner that starts the
		// processes: a gateway loading the same file need not have it.
		if (a.User != "" || a.Rlimits != Rlimits{}) && a.Kind != "exec" && a.Kind != "worker" {
			add("%s: user and rlimits apply to exec and worker algorithms only", where)
		}
		if a.Rlimits.Memory < 0 || a.Rlimits.CPUSeconds < 0 || a.Rlimits.OpenFiles < 0 {
			add("%s: rlimits must not be negative", where)
		}
		if len(a.Resources) > 0 && a.Kind != "worker" {
			add("%s: resources apply to worker algorithms only", where)
		}
		checkResources(where+".resources", a.Resources, add)
	}
	checkResources("resources", c.Resources, add)
	if err := conveyor.Requirements(c.Labels).Validate(); err != nil {
		add("labels: %s", strings.TrimPrefix(err.Error(), "requires: "))
	}
}

// Resources are the names of the resources a runner hands out.
var Resources = []string{"gpu"}

// checkResources reports unknown resource names and negative amounts.
func checkResources(where string, r map[string]int, add func(string, ...any)) {
	for name, n := range r {
		if !slices.Contains(Resources, name) {
			add("%s: unknown resource %q (known: %s)", where, name, strings.Join(Resources, ", "))
		}
		if n < 0 {
			add("%s.%s must not be negative", where, name)
		}
	}
}
