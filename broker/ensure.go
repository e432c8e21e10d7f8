package broker

import (
	"context"
	"slices"

	"github.com/nats-io/nats.go/jetstream"
)

// Every process that uses a stream, bucket or consumer makes sure it is
// there as wanted when it starts, and many start at once: each ensure
// helper reads first and writes only what is missing or configured
// otherwise, so that only the first process writes. Each makes one try;
// callers retry (see retryFor).

// ensureStream creates the stream want describes, or updates it if it is
// configured otherwise (see sameStream).
func (b *Broker) ensureStream(ctx context.Context, want jetstream.StreamConfig) error {
	if s, err := b.js.Stream(ctx, want.Name); err == nil && sameStream(s.CachedInfo().Config, want) {
		return nil
	}
	_, err := b.js.CreateOrUpdateStream(ctx, want)
	return err
}

// ensureBucket creates the key-value bucket want describes, or updates it
// if it is configured otherwise (see sameBucket), and returns it.
func (b *Broker) ensureBucket(ctx context.Context, want jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	if kv, err := b.js.KeyValue(ctx, want.Bucket); err == nil {
		if st, err := kv.Status(ctx); err == nil && sameBucket(st, want) {
			return kv, nil
		}
	}
	return b.js.CreateOrUpdateKeyValue(ctx, want)
}

// ensureConsumer creates the durable consumer of stream that want
// describes, or updates it if it is configured otherwise (see
// sameConsumer), and returns it.
func (b *Broker) ensureConsumer(ctx context.Context, stream string, want jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	if c, err := b.js.Consumer(ctx, stream, want.Durable); err == nil && sameConsumer(c.CachedInfo().Config, want) {
		return c, nil
	}
	return b.js.CreateOrUpdateConsumer(ctx, stream, want)
}

// sameStream reports whether a stream configured as have needs no update
// to be as want. The description names what Conveyor keeps in it: a
// change of layout changes it too. A limit want leaves at zero is the
// server's default, whatever the server made of it.
func sameStream(have, want jetstream.StreamConfig) bool {
	return have.Replicas == want.Replicas && have.MaxAge == want.MaxAge && have.Description == want.Description &&
		slices.Equal(have.Subjects, want.Subjects) &&
		(want.Duplicates == 0 || have.Duplicates == want.Duplicates) &&
		max(have.MaxMsgsPerSubject, 0) == max(want.MaxMsgsPerSubject, 0) &&
		have.DiscardNewPerSubject == want.DiscardNewPerSubject &&
		have.AllowMsgSchedules == want.AllowMsgSchedules && have.AllowDirect == want.AllowDirect &&
		have.Retention == want.Retention && have.Discard == want.Discard && have.Storage == want.Storage
}

// sameBucket reports whether a bucket with status st needs no update to
// be as want.
func sameBucket(st jetstream.KeyValueStatus, want jetstream.KeyValueConfig) bool {
	kst, ok := st.(*jetstream.KeyValueBucketStatus)
	if !ok {
		return false
	}
	c := kst.StreamInfo().Config
	return c.Description == want.Description && c.MaxAge == want.TTL && c.Replicas == want.Replicas &&
		st.History() == int64(max(want.History, 1))
}

// sameConsumer reports whether a consumer configured as have needs no
// update to be as want. A limit want leaves at zero is the server's
// default, whatever the server made of it.
func sameConsumer(have, want jetstream.ConsumerConfig) bool {
	unlimited := func(n int) int { // the server stores 0 (the default) as -1
		if n <= 0 {
			return -1
		}
		return n
	}
	return have.Description == want.Description && have.FilterSubject == want.FilterSubject &&
		have.AckWait == want.AckWait && unlimited(have.MaxDeliver) == unlimited(want.MaxDeliver) &&
		(want.MaxAckPending == 0 || have.MaxAckPending == want.MaxAckPending) &&
		(want.MaxWaiting == 0 || have.MaxWaiting == want.MaxWaiting)
}
