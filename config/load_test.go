package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "conveyor.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFileAndEnv(t *testing.T) {
	p := write(t, `
http: {addr: "127.0.0.1:9000", max_body: 1MiB}
data_dir: /tmp/x
retention: 2h
algorithms:
  - {name: is_prime, kind: go}
  - name: report
    kind: exec
    command: [python3, report.py]
    env: {MODE: fast}
    workers: {max: 2}
    timeout: 90s
    input_schema: {type: object, required: [day]}
`)
	c, err := Load(p, []string{"CONVEYOR_DATA_DIR=/data", "CONVEYOR_HTTP_MAX_BODY=2MiB", "OTHER=1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != "127.0.0.1:9000" || c.HTTP.MaxBody != 2<<20 || c.DataDir != "/data" {
		t.Errorf("http/data_dir: %+v %q", c.HTTP, c.DataDir)
	}
	if c.Retention.Std() != 2*time.Hour || c.Heartbeat.Std() != DefaultHeartbeat {
		t.Errorf("durations: %v %v", c.Retention, c.Heartbeat)
	}
	r := c.Algorithms[1]
	if r.Timeout.Std() != 90*time.Second || r.Workers.Max != 2 || r.MaxAttempts != 3 {
		t.Errorf("report: %+v", r)
	}
	// The kind's keys are the kind's to decode (here, as exec would).
	var own struct {
		Command []string          `yaml:"command"`
		Env     map[string]string `yaml:"env"`
	}
	if err := r.DecodeOptions(&own); err != nil || own.Env["MODE"] != "fast" || own.Command[1] != "report.py" {
		t.Errorf("report's own keys: %+v %v", own, err)
	}
	if r.InputSchema["type"] != "object" {
		t.Errorf("input_schema: %v", r.InputSchema)
	}
}

func TestLoadEnvOnly(t *testing.T) {
	c, err := Load("", []string{
		"CONVEYOR_HTTP_ADDR=127.0.0.1:0",
		`CONVEYOR_ALGORITHMS=[{name: s, kind: exec, command: [sh, x.sh]}]`,
	})
	if err != nil {
		t.Fatal(err)
	}
	var own struct {
		Command []string `yaml:"command"`
	}
	if c.HTTP.Addr != "127.0.0.1:0" || len(c.Algorithms) != 1 || c.Algorithms[0].DecodeOptions(&own) != nil || own.Command[1] != "x.sh" {
		t.Errorf("got %+v (command %q)", c, own.Command)
	}
}

func TestLoadErrors(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, env, want string }{
		"unknown key":              {yaml: "htp: {}", want: "field htp not found"},
		"bad duration":             {yaml: "retention: soon", want: "invalid duration"},
		"bad name":                 {yaml: "algorithms: [{name: Bad-Name, kind: go}]", want: "invalid algorithm name"},
		"duplicate name":           {yaml: "algorithms: [{name: a, kind: go}, {name: a, kind: go}]", want: "also used by"},
		"no kind":                  {yaml: "algorithms: [{name: a}]", want: "kind is required"},
		"bad env size":             {yaml: "{}", env: "CONVEYOR_HTTP_MAX_BODY=lots", want: "CONVEYOR_HTTP_MAX_BODY"},
		"bad addr":                 {yaml: "http: {addr: nope}", want: "http.addr"},
		"bad sync":                 {yaml: "broker: {sync: sometimes}", want: "broker.sync"},
		"token secret":             {yaml: "auth: {tokens: [{name: a, scopes: [read]}]}", want: "exactly one of token_sha256 and token_env"},
		"token hash":               {yaml: "auth: {tokens: [{name: a, token_sha256: abc, scopes: [read]}]}", want: "64 hex digits"},
		"token scope":              {yaml: "auth: {tokens: [{name: a, token_env: T, scopes: [write]}]}", want: `unknown scope "write"`},
		"callbacks without secret": {yaml: "callbacks: {allow_hosts: [hooks.example.com]}", want: "callbacks.secret_env is required"},
		"callback bad port":        {yaml: "callbacks: {allow_hosts: [\"h:99999\"], secret_env: S}", want: "bad port"},
		"tls without key":          {yaml: "http: {tls: {cert: c.pem}}", want: "http.tls: give both cert and key"},
		"tls half":                 {yaml: "nats: {tls: {cert: c.pem}}", want: "nats.tls"},
		"nats creds and token":     {yaml: "nats: {creds: x.creds, token: t}", want: "nats: give one of creds, user/password and token"},
		"nats user and token":      {yaml: "nats: {user: u, password: p, token: t}", want: "nats: give one of creds"},
		"routes alone":             {yaml: "broker: {routes: [nats://a:6222]}", want: "broker.routes need broker.cluster"},
		"cluster tls without key":  {yaml: "broker: {cluster: ':6222', cluster_tls: {ca: ca.pem, cert: c.pem}}", want: "broker.cluster_tls: give ca, cert and key together"},
		"cluster tls without ca":   {yaml: "broker: {cluster: ':6222', cluster_tls: {cert: c.pem, key: k.pem}}", want: "broker.cluster_tls: give ca, cert and key together"},
		"cluster tls alone":        {yaml: "broker: {cluster_tls: {ca: ca.pem, cert: c.pem, key: k.pem}}", want: "broker.cluster_tls needs broker.cluster"},
		"label with a comma":       {yaml: "labels: {model: 'a,b'}", want: "labels: label names and values may not hold"},
		"unknown resource":         {yaml: "resources: {tpu: 2}", want: `resources: unknown resource "tpu" (known: gpu)`},
		"quota of no tenant":       {yaml: "quotas: {acme: {max_queued: 5}}", want: `quotas.acme: no token of auth.tokens has tenant "acme"`},
		"negative quota":           {yaml: "auth: {tokens: [{name: a, token_env: T, scopes: [read], tenant: acme}]}\nquotas: {acme: {max_retained: -1}}", want: "must not be negative"},
		"quota key":                {yaml: "quotas: {acme: {max_jobs: 5}}", want: "field max_jobs not found"},
		"schedule cron":            {yaml: "schedules: [{name: n, algorithm: a, cron: '61 * * * *'}]", want: "schedules[0] (n): invalid cron"},
		"schedule twice":           {yaml: "schedules: [{name: n, algorithm: a, every: 1m}, {name: n, algorithm: a, every: 2m}]", want: `a second schedule named "n"`},
		"schedule key":             {yaml: "schedules: [{name: n, algorithm: a, every: 1m, when: now}]", want: "field when not found"},
		"cluster tls env half":     {yaml: "broker: {cluster: ':6222'}", env: "CONVEYOR_BROKER_CLUSTER_TLS_KEY=k.pem", want: "broker.cluster_tls: give ca, cert and key together"},
	} {
		t.Run(name, func(t *testing.T) {
			var env []string
			if tc.env != "" {
				env = []string{tc.env}
			}
			_, err := Load(write(t, tc.yaml), env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestLoadCluster(t *testing.T) {
	p := write(t, `
nats: {url: "nats://a:4222,nats://b:4222", replicas: 3, tls: {ca: ca.pem}}
broker: {cluster: "127.0.0.1:6222", routes: [nats://127.0.0.1:6223], cluster_tls: {ca: ca.pem}}
`)
	c, err := Load(p, []string{"CONVEYOR_NATS_USER=conveyor", "CONVEYOR_NATS_PASSWORD=s3cret", "CONVEYOR_NATS_TLS_CERT=c.pem", "CONVEYOR_NATS_TLS_KEY=k.pem", "CONVEYOR_BROKER_NAME=n1",
		"CONVEYOR_BROKER_CLUSTER_TLS_CERT=node.pem", "CONVEYOR_BROKER_CLUSTER_TLS_KEY=node.key"})
	if err != nil {
		t.Fatal(err)
	}
	n := c.NATS
	if n.Replicas != 3 || n.User != "conveyor" || n.Password != "s3cret" || n.TLS != (TLS{CA: "ca.pem", Cert: "c.pem", Key: "k.pem"}) {
		t.Errorf("nats: %+v", n)
	}
	if b := c.Broker; b.Name != "n1" || b.Cluster != "127.0.0.1:6222" || len(b.Routes) != 1 ||
		b.ClusterTLS != (TLS{CA: "ca.pem", Cert: "node.pem", Key: "node.key"}) || b.TLS != (TLS{}) {
		t.Errorf("broker: %+v", b)
	}
}

// TestLoadUnknownEnv: a CONVEYOR_* variable that names no config key
// stops the load with an error naming it, as a misspelled YAML key does;
// the variables others read (the CLI, the SDK, jobs, tests) and the
// secrets the config names are known.
func TestLoadUnknownEnv(t *testing.T) {
	_, err := Load("", []string{"CONVEYOR_HTTP_ADRR=127.0.0.1:18503"})
	if err == nil || !strings.Contains(err.Error(), "CONVEYOR_HTTP_ADRR") || !strings.Contains(err.Error(), "did you mean CONVEYOR_HTTP_ADDR?") {
		t.Fatalf("misspelled key: err = %v, want it to name CONVEYOR_HTTP_ADRR and suggest CONVEYOR_HTTP_ADDR", err)
	}
	_, err = Load("", []string{"CONVEYOR_NATS_TLS_CA=x", "CONVEYOR_WHATEVER=1", "CONVEYOR_HTTP_TLS_CRT=c"})
	if err == nil || !strings.Contains(err.Error(), "CONVEYOR_HTTP_TLS_CRT (did you mean CONVEYOR_HTTP_TLS_CERT?), CONVEYOR_WHATEVER") {
		t.Fatalf("two unknown: err = %v", err)
	}

	known := []string{
		"CONVEYOR_SERVER=http://x", "CONVEYOR_TOKEN=t", "CONVEYOR_CACERT=ca.pem", "CONVEYOR_CONFIG=",
		"CONVEYOR_INPUT=/tmp/in", "CONVEYOR_JOB_ID=1", "CONVEYOR_ALGORITHM=a", "CONVEYOR_ATTEMPT=1",
		"CONVEYOR_DEADLINE=x", "CONVEYOR_TRACEPARENT=x", "CONVEYOR_TMPDIR=/tmp", "CONVEYOR_PROTOCOL=1",
		"CONVEYOR_SCREENSHOTS=/tmp", "CONVEYOR_OAS31_SCHEMA=x",
		"CONVEYOR_TOKEN_CI=secret", "CONVEYOR_HOOK_SECRET=s",
		"CONVEYOR_HTTP=", "CONVEYOR_BROKER_CLUSTER_TLS_CA=", "CONVEYOR_LOGS_MAX_PER_JOB=2MiB", "OTHER_HTTP_ADRR=1",
	}
	yaml := "auth: {tokens: [{name: ci, token_env: CONVEYOR_TOKEN_CI, scopes: [read]}]}\n" +
		"callbacks: {allow_hosts: [hooks.example.com], secret_env: CONVEYOR_HOOK_SECRET}\n"
	if _, err := Load(write(t, yaml), known); err != nil {
		t.Fatalf("known variables: %v", err)
	}
	// A token variable is known because the config names it.
	if _, err := Load("", []string{"CONVEYOR_TOKEN_CI=secret"}); err == nil || !strings.Contains(err.Error(), "CONVEYOR_TOKEN_CI") {
		t.Fatalf("a token variable no config names: err = %v", err)
	}
}
