package conveyor

import (
	"context"
	"testing"
)

func TestValidTraceparent(t *testing.T) {
	for s, want := range map[string]bool{
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01":        true,
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00":        true,
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future": true, // a later version may add fields
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01":        true,
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra":  false, // version 00 has exactly four fields
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01":        false, // invalid version
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01":        false, // zero trace id
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01":        false, // zero parent id
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01":        false, // upper case
		"00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01":        false, // misplaced dash
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g":        false,
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7":           false,
		"": false,
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x": false,
	} {
		if got := ValidTraceparent(s); got != want {
			t.Errorf("ValidTraceparent(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestTraceparentContext(t *testing.T) {
	ctx := context.Background()
	if TraceparentFrom(ctx) != "" || WithTraceparent(ctx, "") != ctx {
		t.Fatal("no traceparent: want none")
	}
	tp := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	if got := TraceparentFrom(WithTraceparent(ctx, tp)); got != tp {
		t.Fatalf("got %q", got)
	}
}
