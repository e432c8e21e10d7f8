package app

import (
	"log/slog"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor/config"
)

func TestReconnectDelay(t *testing.T) {
	for _, tc := range []struct {
		attempts int
		base     time.Duration
	}{{0, 100 * time.Millisecond}, {1, 200 * time.Millisecond}, {5, 3200 * time.Millisecond}, {6, 5 * time.Second}, {1000, 5 * time.Second}} {
		for range 50 {
			if d := reconnectDelay(tc.attempts); d < tc.base*4/5 || d > tc.base*6/5 {
				t.Fatalf("reconnectDelay(%d) = %v, want %v ± 20%%", tc.attempts, d, tc.base)
			}
		}
	}
}

func TestClientOptions(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	if _, err := clientOptions(config.NATS{Creds: "x.creds", Token: "t"}, "test", log); err == nil {
		t.Error("creds and a token together: no error")
	}
	opts, err := clientOptions(config.NATS{User: "u", Password: "p", TLS: config.TLS{CA: "ca.pem"}}, "test", log)
	if err != nil || len(opts) == 0 {
		t.Errorf("user and password with a CA: %v", err)
	}
}
