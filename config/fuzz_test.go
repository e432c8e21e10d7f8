package config

import "testing"

// FuzzParse feeds arbitrary YAML to the config parser: it must return a
// config or an error, never panic, and a config it returns must be valid.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"", "{}", "http: {addr: 127.0.0.1:9000, max_body: 1MiB}\nretention: 2h\n",
		"algorithms:\n  - {name: a, kind: exec, command: [sh, x], timeout: 30s, workers: {max: 2}}\n",
		"algorithms: [{kind: worker, command: [python3], algorithms: {a: {timeout: 1m}}}]",
		"broker: {sync: always}", "broker: {cluster: ':6222', routes: [nats://b:6222], cluster_tls: {ca: a, cert: c, key: k}}", "heartbeat: 1", "&a [*a]", "algorithms: {name: a}",
		"callbacks: {allow_hosts: [\"hooks.example.com:443\", \"[::1]:80\"], secret_env: S, backoff: 2s}",
		"http: {tls: {cert: c.pem, key: k.pem}, max_wait: 10s, max_event_streams: 3, body_timeout: 1s}",
		"algorithms: [{name: a, kind: exec, command: [x], user: nobody, rlimits: {memory: 1GiB, cpu_seconds: 5, open_files: 64}}]",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, []string{"CONVEYOR_DATA_DIR=/tmp/x"})
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse returned a config that does not validate: %v", err)
		}
	})
}
