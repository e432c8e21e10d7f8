package broker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
)

// SchemaConflictError is returned by RegisterAlgorithm when the algorithm
// is registered with another input schema and a live runner still serves
// that one.
type SchemaConflictError struct {
	Algorithm  string
	Registered string // digest of the registered input schema
	Runner     string // a live runner serving it
}

func (e *SchemaConflictError) Error() string {
	return fmt.Sprintf("algorithm %s is registered with another input schema (sha256 %.12s), served by live runner %s",
		e.Algorithm, e.Registered, e.Runner)
}

// SchemaDigest returns the hex SHA-256 of an input schema's canonical JSON
// (keys sorted, no spaces), so equal schemas from different languages get
// equal digests. No schema is the schema of any object.
func SchemaDigest(schema json.RawMessage) string {
	if len(schema) == 0 {
		schema = conveyor.AnyObjectSchema
	}
	var v any
	if json.Unmarshal(schema, &v) == nil {
		if canon, err := json.Marshal(v); err == nil {
			schema = canon
		}
	}
	sum := sha256.Sum256(schema)
	return hex.EncodeToString(sum[:])
}

// RegisterAlgorithm records an algorithm as runner announces it.
// Algorithms stay known after their runners go away, so their jobs wait in
// the queue. If the algorithm is registered with another input schema, the
// new one replaces it only when no other live runner serves the old one
// (a rolling upgrade once the old runners are gone); otherwise nothing is
// written and a *SchemaConflictError is returned: two schemas are never
// merged. Other fields (description, timeout) go to the last announcer.
func (b *Broker) RegisterAlgorithm(ctx context.Context, a conveyor.Algorithm, runner string) error {
	data, err := json.Marshal(a)
	if err != nil {
		return err
	}
	for range maxCASRetries {
		e, err := b.algs.Get(ctx, a.Name)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			if _, err = b.algs.Create(ctx, a.Name, data); errors.Is(err, jetstream.ErrKeyExists) {
				continue // another runner was first: compare with its record
			}
			return registerErr(err)
		}
		if err != nil {
			return registerErr(err)
		}
		if string(e.Value()) == string(data) {
			return nil // every runner start announces: skip the write
		}
		var old conveyor.Algorithm
		if json.Unmarshal(e.Value(), &old) == nil {
			if have := SchemaDigest(old.InputSchema); have != SchemaDigest(a.InputSchema) {
				holder, err := b.liveRunnerWith(ctx, a.Name, have, runner)
				if err != nil {
					return err
				}
				if holder != "" {
					return &SchemaConflictError{Algorithm: a.Name, Registered: have, Runner: holder}
				}
			}
		}
		_, err = b.algs.Update(ctx, a.Name, data, e.Revision())
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue // changed meanwhile: decide again
		}
		return registerErr(err)
	}
	return fmt.Errorf("register algorithm %s: did not settle", a.Name)
}

// liveRunnerWith returns a live runner other than except that serves
// algorithm with the input schema of digest, or "".
func (b *Broker) liveRunnerWith(ctx context.Context, algorithm, digest, except string) (string, error) {
	lister, err := b.runs.ListKeys(ctx)
	if err != nil {
		return "", unavailable("list runners", err)
	}
	defer func() { _ = lister.Stop() }()
	for id := range lister.Keys() {
		if id == except {
			continue
		}
		e, err := b.runs.Get(ctx, id)
		if err != nil {
			continue // gone meanwhile
		}
		var r conveyor.RunnerInfo
		if json.Unmarshal(e.Value(), &r) != nil {
			continue
		}
		if d, ok := r.Schemas[algorithm]; ok && d == digest {
			return r.ID, nil
		}
	}
	return "", nil
}

func registerErr(err error) error {
	if err != nil {
		return unavailable("register algorithm", err)
	}
	return nil
}

// PutRunner records that a runner is alive. The record expires three
// heartbeats after its last Put.
func (b *Broker) PutRunner(ctx context.Context, r conveyor.RunnerInfo) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := b.runs.Put(ctx, r.ID, data); err != nil {
		return unavailable("register runner", err)
	}
	return nil
}

// DeleteRunner removes a runner's record at once, on a clean shutdown.
func (b *Broker) DeleteRunner(ctx context.Context, id string) error {
	err := b.runs.Delete(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return err
}
