// Package brokertest starts a real embedded broker for the tests of the
// packages built on it, as net/http/httptest starts a real server. (The
// broker package's own tests cannot import it, and have their own.)
package brokertest

import (
	"testing"
	"time"

	"github.com/conveyor-run/conveyor/broker"
)

// Open starts an embedded NATS server with JetStream in a temp dir,
// connects to it and opens a broker on it with a heartbeat of a second and
// a retention of an hour; all three are stopped when the test ends.
func Open(t testing.TB) (*broker.Embedded, *broker.Broker) {
	t.Helper()
	emb, err := broker.StartEmbedded(broker.EmbeddedConfig{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	nc, err := emb.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	b, err := broker.Open(t.Context(), nc, broker.Config{Retention: time.Hour, Heartbeat: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return emb, b
}
