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

// idemRecord is what an idempotency key maps to: the job it created and a
// digest of the request that created it.
type idemRecord struct {
	JobID   string `json:"job_id"`
	Request string `json:"request"`
}

// idempotencyID is the bucket key of a tenant's idempotency key: keys are
// client strings, bucket keys a restricted alphabet. Each tenant has keys
// of its own, as with mutex keys (MutexID); the default tenant's keep the
// form they had before tenants, so keys bound then still hold.
func idempotencyID(tenant, key string) string {
	if tenant != "" {
		key = tenant + "\x00" + key
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// ClaimIdempotencyKey binds tenant's key to jobID for a request with digest
// request. If the key is already bound it returns the bound job id and the
// digest of the request that bound it, and claimed false; the caller decides
// between "same request, same job" and ECONFLICT. A key bound to a job that
// no longer exists (its submit failed midway) is rebound. Tenants do not
// share keys: the same key of another tenant is another key.
func (b *Broker) ClaimIdempotencyKey(ctx context.Context, tenant, key, jobID, request string) (boundJob, boundRequest string, claimed bool, err error) {
	k := idempotencyID(tenant, key)
	data, _ := json.Marshal(idemRecord{JobID: jobID, Request: request})
	for range maxCASRetries {
		// Retried through a failover; a retry may find the key its own
		// earlier try bound (the acknowledgement lost): see below.
		err := b.retry(ctx, func(ctx context.Context) error {
			_, err := b.idem.Create(ctx, k, data)
			return err
		})
		if err == nil {
			return jobID, request, true, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return "", "", false, unavailable("claim idempotency key", err)
		}
		e, err := b.idem.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // expired or deleted between the two calls
		}
		if err != nil {
			return "", "", false, unavailable("read idempotency key", err)
		}
		var rec idemRecord
		if err := json.Unmarshal(e.Value(), &rec); err != nil {
			return "", "", false, fmt.Errorf("corrupt idempotency record: %w", err)
		}
		if rec.JobID == jobID {
			return jobID, request, true, nil // bound by an earlier try of this claim
		}
		if _, _, err := b.GetJob(ctx, rec.JobID); conveyor.ErrorCode(err) == conveyor.ENOTFOUND {
			if _, err := b.idem.Update(ctx, k, data, e.Revision()); err == nil {
				return jobID, request, true, nil
			}
			continue
		}
		return rec.JobID, rec.Request, false, nil
	}
	return "", "", false, errors.New("idempotency key claim did not settle")
}
