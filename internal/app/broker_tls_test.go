package app

import (
	"testing"

	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testcert"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestBrokerTLS: `serve` with broker.listen and broker.tls serves its own
// runner and gateway in process as before, while a client on the TCP port
// gets in only over TLS with a certificate the broker's CA signed.
func TestBrokerTLS(t *testing.T) {
	var f tlsFiles
	f.write(t, testcert.NewCA(t))

	cfg := testConfig(t, t.TempDir())
	cfg.Broker.Listen = testenv.FreeAddr(t)
	cfg.Broker.TLS = config.TLS{Cert: f.serverCert, Key: f.serverKey, CA: f.ca}
	s := startServer(t, cfg)
	if j := s.wait(s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}}, "", 202).ID); j.Status != "succeeded" {
		t.Fatalf("job through the in-process connections: %s", j.Status)
	}

	f.checkDial(t, "nats://"+cfg.Broker.Listen, map[string]config.TLS{
		"plain":          {},
		"no client cert": {CA: f.ca},
	})
}
