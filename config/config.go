// Package config reads Conveyor's configuration: a YAML file whose every key
// can also be set by a CONVEYOR_* environment variable.
//
// The zero Config is usable: WithDefaults fills in what is unset, Validate
// checks the result. Load does both.
package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/gateway"
	"gopkg.in/yaml.v3"
	"maps"
	"net"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/conveyor-run/conveyor"
)

// Config is the whole configuration of a Conveyor process. Its YAML keys are
// those of DESIGN.md; the environment variable for a key is CONVEYOR_ and the
// upper-cased path joined by '_' (http.addr → CONVEYOR_HTTP_ADDR).
type Config struct {
	HTTP    HTTP   `yaml:"http"`
	DataDir string `yaml:"data_dir"`
	NATS    NATS   `yaml:"nats"`
	Broker  Broker `yaml:"broker"`
	// Retention is how long a finished job's record, result and logs are
	// kept after its last change. Default 168h.
	Retention conveyor.Duration `yaml:"retention"`
	// History says where finished jobs are kept (see README, History).
	History History `yaml:"history"`
	// Heartbeat is how often a runner tells the broker that a job is still in
	// progress and that it is alive; a job whose runner misses three
	// heartbeats is redelivered. Default 5s.
	Heartbeat conveyor.Duration `yaml:"heartbeat"`
	// ShutdownGrace bounds how long running jobs may finish on shutdown
	// before they are handed back to the queue. Default 30s.
	ShutdownGrace conveyor.Duration `yaml:"shutdown_grace"`
	Algorithms    []Algorithm       `yaml:"algorithms"`
	Auth          Auth              `yaml:"auth"`
	Logs          Logs              `yaml:"logs"`
	Callbacks     Callbacks         `yaml:"callbacks"`
	// Schedules are recurring jobs declared here: at every start a gateway
	// makes the broker's schedules of source "config" these (adding,
	// changing, removing), keeping the state of those unchanged.
	Schedules []Schedule `yaml:"schedules"`
	// Resources are what a runner has to hand its worker processes:
	// {gpu: 2}. Without gpu, a runner counts the GPUs nvidia-smi lists.
	Resources map[string]int `yaml:"resources"`
	// Labels describe a runner ({zone: eu, model: llama}); GET /v1/runners
	// shows them. They are what a job's requires will be matched against
	// (label routing, not yet wired: see conveyor.Requirements).
	Labels map[string]string `yaml:"labels"`
	// Quotas bound what a tenant keeps, by tenant name (the tenant of its
	// tokens): past one, a submit is a 429.
	Quotas map[string]Quota `yaml:"quotas"`
	// Files configures uploaded files (POST /v1/files).
	Files Files `yaml:"files"`
}

// Files configures uploaded files, kept in the broker's object store for
// the retention.
type Files struct {
	// MaxSize caps one uploaded file: past it 413 and nothing is kept.
	// It is not http.max_body, which caps JSON requests. Default 5GiB.
	MaxSize ByteSize `yaml:"max_size"`
}

// DefaultMaxFileSize is Files.MaxSize's default.
const DefaultMaxFileSize = gateway.DefaultMaxFileSize

// Quota bounds one tenant's jobs. Zero: no bound.
type Quota struct {
	// MaxQueued bounds the tenant's jobs waiting: queued or scheduled.
	MaxQueued int `yaml:"max_queued"`
	// MaxRetained bounds the tenant's jobs kept, live or finished, until
	// they expire (retention) or are deleted.
	MaxRetained int `yaml:"max_retained"`
}

// Schedule is a recurring job declared in the configuration; see
// conveyor.Schedule for what each key means.
type Schedule struct {
	Name      string            `yaml:"name"`
	Algorithm string            `yaml:"algorithm"`
	Input     map[string]any    `yaml:"input"`
	Every     conveyor.Duration `yaml:"every"`
	Cron      string            `yaml:"cron"`
	Timezone  string            `yaml:"timezone"`
	Priority  conveyor.Priority `yaml:"priority"`
	Labels    map[string]string `yaml:"labels"`
	Requires  map[string]string `yaml:"requires"`
	Overlap   string            `yaml:"overlap"`
	Paused    bool              `yaml:"paused"`
}

// Schedule returns s as the broker keeps it, checked (see
// conveyor.Schedule.Check).
func (s Schedule) Schedule() (conveyor.Schedule, error) {
	out := conveyor.Schedule{Name: s.Name, Algorithm: s.Algorithm, Every: s.Every, Cron: s.Cron, Timezone: s.Timezone,
		Priority: s.Priority, Labels: s.Labels, Requires: s.Requires, Overlap: s.Overlap, Paused: s.Paused, Source: "config"}
	if s.Input != nil {
		data, err := json.Marshal(s.Input)
		if err != nil {
			return out, fmt.Errorf("input: %w", err)
		}
		out.Input = data
	}
	return out, out.Check()
}

// History configures where finished jobs are kept.
type History struct {
	// ArchiveAfter is how long a finished job's record stays in the job
	// store before a gateway moves it to the history stream, which keeps
	// the broker's memory independent of how many jobs are retained.
	// Default 5s.
	ArchiveAfter conveyor.Duration `yaml:"archive_after"`
	// KeepFinished keeps finished jobs in the job store until retention
	// instead: no archiving, whose cost is ~50 µs of CPU a job, for a
	// broker memory that grows with the retained jobs (~170 B each).
	KeepFinished bool `yaml:"keep_finished"`
}

// DefaultArchiveAfter is History.ArchiveAfter's default.
const DefaultArchiveAfter = gateway.DefaultArchiveAfter

// Logs configures the job logs the broker keeps (for the job's retention).
type Logs struct {
	// MaxPerJob caps the log text kept per job; past it the oldest lines
	// are dropped, and readers see a line saying how many. Default 1MiB.
	MaxPerJob ByteSize `yaml:"max_per_job"`
}

// Auth configures who may call the HTTP API. With no tokens the API is
// open, and the gateway then binds only a loopback address.
type Auth struct {
	Tokens []Token `yaml:"tokens"`
}

// Token is one API token. The token itself is never in the config: either
// its SHA-256 (hex) is, or the name of an environment variable holding it.
type Token struct {
	Name        string `yaml:"name"`
	TokenSHA256 string `yaml:"token_sha256"`
	TokenEnv    string `yaml:"token_env"`
	// Scopes: submit, read, cancel, admin (all of them).
	Scopes []string `yaml:"scopes"`
	// Algorithms, when set, are the only ones the token may submit or call.
	Algorithms []string `yaml:"algorithms"`
	// Tenant, when set, is stamped on the jobs the token submits, and the
	// token sees and cancels only those (unless it is admin).
	Tenant string `yaml:"tenant"`
}

// Scopes a token may have: metrics reads /metrics, which counts every
// tenant's jobs (admin may too).
var Scopes = []string{"submit", "read", "cancel", "metrics", "admin"}

// HTTP configures the gateway's HTTP API.
type HTTP struct {
	// Addr is the listen address. Default 127.0.0.1:8080. Without auth
	// tokens only a loopback address is accepted, unless Insecure.
	Addr string `yaml:"addr"`
	// Insecure allows an open API (no tokens) on a non-loopback address.
	Insecure bool `yaml:"insecure"`
	// MaxBody caps a request body. Default 10MiB.
	MaxBody ByteSize `yaml:"max_body"`
	// TLS, when set, makes the API serve HTTPS with this certificate.
	TLS ServerTLS `yaml:"tls"`
	// MaxWait caps ?wait= and a synchronous call's timeout; longer ones
	// are clamped. Default 60s.
	MaxWait conveyor.Duration `yaml:"max_wait"`
	// MaxEventStreams caps the event streams and log follows open at once
	// per token (per client address without tokens). Default 64.
	MaxEventStreams int `yaml:"max_event_streams"`
	// BodyTimeout bounds how long a client may take to send a request
	// body; past it 408. Default 60s.
	BodyTimeout conveyor.Duration `yaml:"body_timeout"`
}

// NATS says where the broker is and how to log in. An empty URL means the
// embedded broker. User and Password, or Token, are also what the embedded
// broker requires of its clients when set.
type NATS struct {
	// URL is one or more nats:// URLs, comma-separated.
	URL string `yaml:"url"`
	// Replicas is the replication factor of Conveyor's streams and
	// buckets: 3 on a 3-node cluster. Default 1.
	Replicas int `yaml:"replicas"`
	// Creds is a NATS .creds file (JWT and NKey seed).
	Creds    string `yaml:"creds"`
	User     string `yaml:"user"`
	Password string `yaml:"password"`
	Token    string `yaml:"token"`
	TLS      TLS    `yaml:"tls"`
}

// TLS configures a TLS client connection: CA verifies the server; Cert and
// Key are a client certificate, for servers that require one.
type TLS struct {
	CA   string `yaml:"ca"`
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Broker configures the embedded broker.
type Broker struct {
	// Sync is how often JetStream fsyncs its files: a duration, or "always"
	// to sync every write before acknowledging it. Default 1s.
	Sync string `yaml:"sync"`
	// Listen is a host:port for NATS clients; empty (the default) opens no
	// TCP port at all and only in-process connections reach the broker.
	Listen string `yaml:"listen"`
	// Name is the node's name, unique in its cluster. Default: host-port
	// of Cluster, or "conveyor" for a single node.
	Name string `yaml:"name"`
	// Cluster is a host:port on which this node accepts routes from the
	// other nodes of a cluster; empty runs a single node.
	Cluster string `yaml:"cluster"`
	// Routes are the nats://host:port cluster addresses of the other nodes.
	Routes []string `yaml:"routes"`
	// TLS makes the client port (Listen) accept TLS connections only:
	// Cert and Key are the server's certificate; with CA set, clients
	// must also present a certificate that CA signed. Routes between
	// nodes are not encrypted by it: see ClusterTLS.
	TLS TLS `yaml:"tls"`
	// ClusterTLS makes the routes between nodes TLS only, verified both
	// ways: Cert and Key are this node's certificate, which it presents
	// to the nodes it connects to and to those connecting to it, and CA
	// must have signed every node's, its own included. All three are
	// required; every node of the cluster needs them.
	ClusterTLS TLS `yaml:"cluster_tls"`
	// MinFree is the free space the data dir's disk must keep: below it,
	// /readyz says so and new jobs are refused (507). Default 32MiB.
	MinFree ByteSize `yaml:"min_free"`
}

// DefaultMinFree is Broker.MinFree's default.
const DefaultMinFree = 32 << 20

// validate checks the broker section.
func (b *Broker) validate(add func(string, ...any)) {
	if b.MinFree < 0 {
		add("broker.min_free must not be negative")
	}
	if b.Sync != "always" {
		if d, err := time.ParseDuration(b.Sync); err != nil || d <= 0 {
			add("broker.sync %q: want a positive duration or \"always\"", b.Sync)
		}
	}
	if (b.TLS.Cert == "") != (b.TLS.Key == "") || b.TLS.CA != "" && b.TLS.Cert == "" {
		add("broker.tls: give both cert and key (and ca only with them)")
	}
	if len(b.Routes) > 0 && b.Cluster == "" {
		add("broker.routes need broker.cluster, the address this node accepts routes on")
	}
	if ct := b.ClusterTLS; ct != (TLS{}) {
		if ct.CA == "" || ct.Cert == "" || ct.Key == "" {
			add("broker.cluster_tls: give ca, cert and key together: each node presents its cert to the others and checks theirs against the ca")
		}
		if b.Cluster == "" {
			add("broker.cluster_tls needs broker.cluster, the address this node accepts routes on")
		}
	}
}

// Algorithm is one entry of the algorithms list: what a runner serves and
// how. Kind picks the runner kind. Its fields are the keys every kind
// takes (CommonKeys) and those of a pipeline; the keys of one kind are in
// Options, which the kind decodes itself (DecodeOptions): exec and worker
// entries' command, dir, env, user and rlimits, the worker's concurrency,
// prefetch, idle_timeout, algorithms and resources, the http kind's url.
type Algorithm struct {
	Name        string  `yaml:"name"`
	Kind        string  `yaml:"kind"`
	Description string  `yaml:"description"`
	Workers     Workers `yaml:"workers"`
	// Timeout bounds one attempt; zero means none. A job may set its own.
	Timeout conveyor.Duration `yaml:"timeout"`
	// MaxAttempts is the default number of attempts of its jobs. Default 3.
	MaxAttempts int `yaml:"max_attempts"`
	// MaxQueued caps the jobs of the algorithm waiting in the queue; past
	// it a submit gets 429 and nothing is stored. Default 0: no cap.
	MaxQueued int `yaml:"max_queued"`
	// Grace is how long a canceled or timed-out process has between SIGTERM
	// and SIGKILL. Default 5s.
	Grace        conveyor.Duration `yaml:"grace"`
	InputSchema  map[string]any    `yaml:"input_schema"`
	OutputSchema map[string]any    `yaml:"output_schema"`
	// Pipeline makes the entry a pipeline instead of an algorithm of a
	// kind: its jobs run these algorithms, each stage's output the next
	// one's input. An entry with a pipeline has a name and no kind.
	Pipeline []string `yaml:"pipeline"`
	// MaxSteps bounds the stages one pipeline job runs in all, loops
	// included. Default 100.
	MaxSteps int `yaml:"max_steps"`
	// Options are the entry's other keys: those of a kind that declares
	// its own (RegisterKind) and reads them itself (DecodeOptions), so a
	// new kind needs no field here. A key no kind of the entry takes is a
	// config error naming it. Each value is kept as the YAML node it was
	// written as, so that the kind decodes what the file says: decoded
	// into map[string]any first, env: {V: 3.10} would reach a string
	// field as "3.1". Go code builds them with SetOptions.
	Options map[string]yaml.Node `yaml:",inline"`
}

// DecodeOptions decodes the entry's Options, the keys its kind declared,
// into out (a pointer to a struct with yaml tags), strictly: a key out has
// no field for, or a value of the wrong type, is an error naming the key.
func (a *Algorithm) DecodeOptions(out any) error {
	for _, key := range slices.Sorted(maps.Keys(a.Options)) {
		v := a.Options[key]
		doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, resolved(&v)}}
		data, err := yaml.Marshal(doc)
		if err == nil {
			err = decodeStrict(data, out)
		}
		if err != nil {
			return fmt.Errorf("%s: %s", key, optionError(err))
		}
	}
	return nil
}

// optionError returns the text of err, an error decoding one option,
// without what yaml says of where in the one-key document it made: not
// news to the reader of the file.
func optionError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  ")
	if _, after, ok := strings.Cut(msg, ": cannot "); ok {
		return "cannot " + after
	}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if _, after, ok := strings.Cut(rest, ": "); ok {
			return after
		}
	}
	return msg
}

// resolved returns n with its aliases replaced by what they name, so that
// it stands alone in a document of its own.
func resolved(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	c := *n
	c.Anchor = ""
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, sub := range n.Content {
		c.Content[i] = resolved(sub)
	}
	return &c
}

// SetOptions sets the keys of the entry's Options that opts encodes to: a
// struct with yaml tags, as DecodeOptions reads it, or a map. It is how Go
// code — a test, a program that embeds a runner — builds an entry of a
// kind with keys of its own; fields tagged omitempty that are zero are
// left out. It returns an error when opts does not encode to a mapping.
func (a *Algorithm) SetOptions(opts any) error {
	var n yaml.Node
	if err := n.Encode(opts); err != nil {
		return err
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("options: %T does not encode to a mapping", opts)
	}
	if a.Options == nil {
		a.Options = make(map[string]yaml.Node, len(n.Content)/2)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		a.Options[n.Content[i].Value] = *n.Content[i+1]
	}
	return nil
}

// IsPipeline reports whether the entry is a pipeline.
func (a *Algorithm) IsPipeline() bool { return len(a.Pipeline) > 0 }

// Workers sizes the pool of an algorithm on one runner.
type Workers struct {
	Min int `yaml:"min"`
	// Max is how many jobs of the algorithm run at once. Default: the number
	// of CPUs.
	Max int `yaml:"max"`
}

// Defaults.
const (
	DefaultAddr      = "127.0.0.1:8080"
	DefaultDataDir   = "./data"
	DefaultMaxBody   = gateway.DefaultMaxBody
	DefaultRetention = broker.DefaultRetention
	DefaultHeartbeat = broker.DefaultHeartbeat
	DefaultGrace     = 5 * time.Second
	DefaultSync      = "1s"
	DefaultShutdown  = 30 * time.Second
	DefaultLogCap    = broker.DefaultMaxLogBytes
)

// WithDefaults fills every unset field with its default.
func (c *Config) WithDefaults() {
	if c.HTTP.Addr == "" {
		c.HTTP.Addr = DefaultAddr
	}
	if c.HTTP.MaxBody == 0 {
		c.HTTP.MaxBody = DefaultMaxBody
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.Broker.MinFree == 0 {
		c.Broker.MinFree = DefaultMinFree
	}
	if c.NATS.Replicas == 0 {
		c.NATS.Replicas = 1
	}
	if c.Broker.Sync == "" {
		c.Broker.Sync = DefaultSync
	}
	if c.Retention == 0 {
		c.Retention = conveyor.Duration(DefaultRetention)
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = conveyor.Duration(DefaultHeartbeat)
	}
	if c.History.ArchiveAfter == 0 {
		c.History.ArchiveAfter = conveyor.Duration(DefaultArchiveAfter)
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = conveyor.Duration(DefaultShutdown)
	}
	if c.Logs.MaxPerJob == 0 {
		c.Logs.MaxPerJob = DefaultLogCap
	}
	if c.Files.MaxSize == 0 {
		c.Files.MaxSize = DefaultMaxFileSize
	}
	for i := range c.Algorithms {
		c.Algorithms[i].WithDefaults()
	}
	c.Callbacks.WithDefaults()
}

// WithDefaults fills the unset fields of one algorithm entry.
func (a *Algorithm) WithDefaults() {
	if a.Workers.Max == 0 {
		a.Workers.Max = runtime.NumCPU()
	}
	if a.MaxAttempts == 0 {
		a.MaxAttempts = conveyor.DefaultMaxAttempts
	}
	if a.Grace == 0 {
		a.Grace = conveyor.Duration(DefaultGrace)
	}
	if a.IsPipeline() && a.MaxSteps == 0 {
		a.MaxSteps = conveyor.DefaultMaxSteps
	}
}

// validatePipeline checks a pipeline entry: a name, stages that are valid
// algorithm names, and none of the fields of a kind.
func validatePipeline(a Algorithm, where string, add func(string, ...any)) {
	if a.Name == "" {
		add("%s: a pipeline needs a name", where)
	}
	if a.Kind != "" {
		add("%s: a pipeline has no kind: its stages are algorithms of their own", where)
	}
	for _, key := range slices.Sorted(maps.Keys(a.Options)) {
		add("%s: %s is not a key of a pipeline", where, key)
	}
	for _, st := range a.Pipeline {
		if err := conveyor.ValidateName(st); err != nil {
			add("%s: pipeline stage: %v", where, err)
		}
		if st == a.Name {
			add("%s: a pipeline cannot be its own stage", where)
		}
	}
	if a.MaxSteps < 1 {
		add("%s: max_steps must be at least 1", where)
	}
}

// Validate returns an error naming every problem it finds.
func (c *Config) Validate() error {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		add("http.addr %q: want host:port", c.HTTP.Addr)
	}
	if c.HTTP.MaxBody < 0 {
		add("http.max_body must be positive")
	}
	if c.Logs.MaxPerJob < 0 {
		add("logs.max_per_job must be positive")
	}
	if c.Files.MaxSize < 0 {
		add("files.max_size must be positive")
	}
	if n := btoi(c.NATS.Creds != "") + btoi(c.NATS.User != "") + btoi(c.NATS.Token != ""); n > 1 {
		add("nats: give one of creds, user/password and token, not several")
	}
	if (c.NATS.TLS.Cert == "") != (c.NATS.TLS.Key == "") {
		add("nats.tls: give both cert and key, or neither")
	}
	c.Broker.validate(add)
	if c.NATS.Replicas < 1 || c.NATS.Replicas > 5 {
		add("nats.replicas must be 1 to 5, not %d", c.NATS.Replicas)
	}
	if c.Heartbeat.Std() < 100*time.Millisecond {
		add("heartbeat %s is too short (minimum 100ms)", c.Heartbeat)
	}
	for tenant, q := range c.Quotas {
		if q.MaxQueued < 0 || q.MaxRetained < 0 {
			add("quotas.%s: max_queued and max_retained must not be negative", tenant)
		}
		if !slices.ContainsFunc(c.Auth.Tokens, func(t Token) bool { return t.Tenant == tenant }) {
			add("quotas.%s: no token of auth.tokens has tenant %q", tenant, tenant)
		}
	}
	names := map[string]bool{}
	for i, sc := range c.Schedules {
		if _, err := sc.Schedule(); err != nil {
			add("schedules[%d] (%s): %v", i, sc.Name, err)
		}
		if names[sc.Name] {
			add("schedules[%d]: a second schedule named %q", i, sc.Name)
		}
		names[sc.Name] = true
	}
	for i, tok := range c.Auth.Tokens {
		where := fmt.Sprintf("auth.tokens[%d] (%s)", i, tok.Name)
		if tok.Name == "" {
			add("%s: name is required", where)
		}
		if (tok.TokenSHA256 == "") == (tok.TokenEnv == "") {
			add("%s: give exactly one of token_sha256 and token_env", where)
		}
		if tok.TokenSHA256 != "" {
			if b, err := hex.DecodeString(tok.TokenSHA256); err != nil || len(b) != sha256.Size {
				add("%s: token_sha256 must be 64 hex digits (sha256sum of the token)", where)
			}
		}
		if len(tok.Scopes) == 0 {
			add("%s: scopes are required (%s)", where, strings.Join(Scopes, ", "))
		}
		for _, s := range tok.Scopes {
			if !slices.Contains(Scopes, s) {
				add("%s: unknown scope %q (want %s)", where, s, strings.Join(Scopes, ", "))
			}
		}
	}
	c.validateCallbacks(add)
	c.validateHTTP(add)
	c.validateRunner(add)
	seen := map[string]int{}
	for i, a := range c.Algorithms {
		where := fmt.Sprintf("algorithms[%d]", i)
		if a.Name != "" {
			where += " (" + a.Name + ")"
			if err := conveyor.ValidateName(a.Name); err != nil {
				add("%s: %v", where, err)
			}
			if j, dup := seen[a.Name]; dup {
				add("%s: name %q is also used by algorithms[%d]", where, a.Name, j)
			}
			seen[a.Name] = i
		}
		switch {
		case a.IsPipeline():
			validatePipeline(a, where, add)
		case a.Kind == "":
			add("%s: kind is required (go, exec, worker, http), or a pipeline", where)
		default:
			validateKindKeys(a, where, add)
		}
		if a.Workers.Max < 1 {
			add("%s: workers.max must be at least 1", where)
		}
		if a.Workers.Min < 0 || a.Workers.Min > a.Workers.Max {
			add("%s: workers.min must be between 0 and workers.max", where)
		}
		if a.MaxQueued < 0 {
			add("%s: max_queued must not be negative", where)
		}
		if a.MaxAttempts < 1 {
			add("%s: max_attempts must be at least 1", where)
		}
		if a.InputSchema != nil {
			if _, err := json.Marshal(a.InputSchema); err != nil {
				add("%s: input_schema is not representable as JSON: %v", where, err)
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	slices.Sort(errs)
	return fmt.Errorf("invalid config:\n  %s", strings.Join(errs, "\n  "))
}

// SchemaJSON returns s, a schema decoded from YAML, as JSON, or nil for nil.
func SchemaJSON(s map[string]any) (json.RawMessage, error) {
	if s == nil {
		return nil, nil
	}
	return json.Marshal(s)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
