package broker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor/internal/gcpace"
)

// fileReadAhead is how many chunks a reader of a file has asked the
// broker for ahead of what it has read: 1 MiB. The object store's own Get
// lets the server push up to 32 MiB ahead (its flow control window) into
// the client's buffers for each reader, which the Go heap then holds, and
// garbage collection, paced by the heap, doubles.
const fileReadAhead = 8

// objectReader reads the chunks of one object in order through an
// ordered pull consumer that buffers at most fileReadAhead of them, and
// checks the digest at the end.
type objectReader struct {
	ctx       context.Context
	msgs      jetstream.MessagesContext
	buf       []byte
	remaining uint64 // bytes not yet taken from msgs
	skip      int64  // bytes still to drop before the first returned
	h         hash.Hash
	want      []byte
	err       error
	moved     gcpace.Meter
}

// openObject opens a reader of the object info describes, from offset on.
func (b *Broker) openObject(ctx context.Context, info *jetstream.ObjectInfo, offset int64) (io.ReadCloser, error) {
	r := &objectReader{ctx: ctx, remaining: info.Size, skip: offset}
	if info.Size == 0 {
		return r, nil
	}
	want, err := jetstream.DecodeObjectDigest(info.Digest)
	if err != nil {
		return nil, err
	}
	if offset == 0 {
		r.h, r.want = sha256.New(), want
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{fmt.Sprintf("$O.%s.C.%s", FilesBucket, info.NUID)}}
	if first, chunk, ok := contiguousChunks(info); ok && offset >= chunk {
		// Start at the chunk that holds offset rather than read up to it.
		k := offset / chunk
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, first+uint64(k)
		r.skip, r.remaining = offset-k*chunk, info.Size-uint64(k*chunk)
	}
	cons, err := b.js.OrderedConsumer(ctx, "OBJ_"+FilesBucket, cfg)
	if err != nil {
		return nil, err
	}
	if r.msgs, err = cons.Messages(jetstream.PullMaxMessages(fileReadAhead)); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *objectReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for len(r.buf) == 0 {
		if r.remaining == 0 {
			r.moved.Done()
			if r.h != nil && !bytes.Equal(r.h.Sum(nil), r.want) {
				r.err = jetstream.ErrDigestMismatch
				return 0, r.err
			}
			r.err = io.EOF
			return 0, io.EOF
		}
		// A chunk comes in a millisecond; none for a minute means the
		// file is gone (expired or deleted while read).
		ctx, cancel := context.WithTimeout(r.ctx, time.Minute)
		m, err := r.msgs.Next(jetstream.NextContext(ctx))
		cancel()
		if err != nil {
			switch {
			case errors.Is(err, jetstream.ErrMsgIteratorClosed):
				err = io.ErrClosedPipe
			case r.ctx.Err() != nil:
				err = r.ctx.Err()
			case errors.Is(err, context.DeadlineExceeded):
				err = errors.New("no chunk of the file came for a minute: it was removed while read")
			}
			r.err = err
			r.moved.Done()
			return 0, err
		}
		data := m.Data()
		r.moved.Add(len(data))
		if uint64(len(data)) > r.remaining {
			r.err = fmt.Errorf("the object has more bytes than its description says")
			return 0, r.err
		}
		r.remaining -= uint64(len(data))
		if r.h != nil {
			r.h.Write(data)
		}
		if r.skip > 0 {
			k := min(r.skip, int64(len(data)))
			data, r.skip = data[k:], r.skip-k
		}
		r.buf = data
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Close stops the consumer; the server removes it.
func (r *objectReader) Close() error {
	r.moved.Done()
	if r.msgs != nil {
		r.msgs.Stop()
	}
	if r.err == nil {
		r.err = io.ErrClosedPipe
	}
	return nil
}

// contiguousChunks returns the stream sequence of an object's first chunk
// and the size of its chunks when they are stored one after the other
// (see putObject).
func contiguousChunks(info *jetstream.ObjectInfo) (first uint64, chunk int64, ok bool) {
	first, err1 := strconv.ParseUint(info.Metadata[fileFirstSeqKey], 10, 64)
	chunk, err2 := strconv.ParseInt(info.Metadata[fileChunkKey], 10, 64)
	return first, chunk, err1 == nil && err2 == nil && first > 0 && chunk > 0
}
