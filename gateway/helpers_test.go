package gateway

import "testing"

// started returns a gateway made with cfg (its Broker set) and started,
// stopped when the test ends.
func started(t testing.TB, cfg Config) *Gateway {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Stop)
	return g
}
