package broker

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestIdempotencyID: each tenant has keys of its own, and the default
// tenant's keep the form they had before tenants, so that keys bound by
// an earlier version still hold after an upgrade.
func TestIdempotencyID(t *testing.T) {
	sum := sha256.Sum256([]byte("order-1"))
	if got, want := idempotencyID("", "order-1"), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("default tenant: %s, want the old form %s", got, want)
	}
	ids := map[string]string{}
	for _, tc := range [][2]string{{"", "order-1"}, {"acme", "order-1"}, {"globex", "order-1"}, {"acme", "order-2"}, {"acme\x00order", "1"}} {
		id := idempotencyID(tc[0], tc[1])
		if other, ok := ids[id]; ok {
			t.Errorf("tenant %q key %q has the id of %s", tc[0], tc[1], other)
		}
		ids[id] = tc[0] + "/" + tc[1]
	}
}
