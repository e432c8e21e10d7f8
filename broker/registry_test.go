package broker

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
)

// open starts an embedded server in a temp dir and opens a broker on it.
func open(t *testing.T, ecfg EmbeddedConfig) (*Embedded, *Broker) {
	t.Helper()
	emb, nc := connectTo(t, ecfg)
	b, err := Open(context.Background(), nc, Config{Heartbeat: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return emb, b
}

func TestSchemaDigest(t *testing.T) {
	a := SchemaDigest(json.RawMessage(`{"type":"object","required":["n"],"properties":{"n":{"type":"integer"}}}`))
	b := SchemaDigest(json.RawMessage(`{ "properties": {"n": {"type": "integer"}}, "required": ["n"], "type": "object" }`))
	if a != b {
		t.Errorf("the same schema, spelled differently, has two digests: %s %s", a, b)
	}
	if SchemaDigest(nil) != SchemaDigest(conveyor.AnyObjectSchema) {
		t.Error("no schema should be any object")
	}
	if a == SchemaDigest(json.RawMessage(`{"type":"object","required":["m"]}`)) {
		t.Error("different schemas, one digest")
	}
}

func TestRegisterAlgorithmConflict(t *testing.T) {
	_, b := open(t, EmbeddedConfig{})
	ctx := context.Background()
	v1 := conveyor.Algorithm{Name: "resize", Kind: "go", InputSchema: json.RawMessage(`{"type":"object","required":["w"]}`)}
	v2 := conveyor.Algorithm{Name: "resize", Kind: "go", InputSchema: json.RawMessage(`{"type":"object","required":["width"]}`)}
	if err := b.RegisterAlgorithm(ctx, v1, "r1"); err != nil {
		t.Fatal(err)
	}
	if err := b.PutRunner(ctx, conveyor.RunnerInfo{ID: "r1", Schemas: map[string]string{"resize": SchemaDigest(v1.InputSchema)}}); err != nil {
		t.Fatal(err)
	}
	// The same schema again, with another description: accepted.
	v1b := v1
	v1b.Description = "resizes"
	if err := b.RegisterAlgorithm(ctx, v1b, "r2"); err != nil {
		t.Fatalf("same schema: %v", err)
	}
	// Another schema while r1 serves the registered one: a conflict.
	var conflict *SchemaConflictError
	if err := b.RegisterAlgorithm(ctx, v2, "r3"); !errors.As(err, &conflict) || conflict.Runner != "r1" {
		t.Fatalf("conflicting schema: %v, want a conflict with r1", err)
	}
	e, err := b.algs.Get(ctx, "resize")
	if err != nil {
		t.Fatal(err)
	}
	var got conveyor.Algorithm
	if err := json.Unmarshal(e.Value(), &got); err != nil || SchemaDigest(got.InputSchema) != SchemaDigest(v1.InputSchema) {
		t.Fatalf("the registered schema changed: %s", e.Value())
	}
	// Once r1 is gone, the new schema takes over.
	if err := b.DeleteRunner(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if err := b.RegisterAlgorithm(ctx, v2, "r3"); err != nil {
		t.Fatalf("after the old runner left: %v", err)
	}
}
