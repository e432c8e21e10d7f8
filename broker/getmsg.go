package broker

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The queue and the history are read by sequence (a job only its queue
// message holds; a finished job's record), and allow direct gets: any
// replica answers, with the message as it is stored, where a get through
// the JetStream API goes to the stream's leader and comes back as JSON
// with the message in base64 — a third of the cost of reading an
// archived job (gateway's BenchmarkGetArchived).

// getMsg returns the message at seq of stream st, read directly. A
// replica may answer that has not stored it yet (a message appended a
// moment ago, on a cluster): a message not found is asked of the
// stream's leader before it is said to be missing.
func (b *Broker) getMsg(ctx context.Context, st jetstream.Stream, seq uint64) (*jetstream.RawStreamMsg, error) {
	m, err := st.GetMsg(ctx, seq)
	if !errors.Is(err, jetstream.ErrMsgNotFound) {
		return m, err
	}
	js, jerr := b.nc.JetStream(nats.Context(ctx))
	if jerr != nil {
		return nil, err
	}
	lm, lerr := js.GetMsg(st.CachedInfo().Config.Name, seq, nats.Context(ctx))
	switch {
	case errors.Is(lerr, nats.ErrMsgNotFound):
		return nil, err
	case lerr != nil:
		return nil, lerr
	}
	return &jetstream.RawStreamMsg{Subject: lm.Subject, Sequence: lm.Sequence, Header: lm.Header, Data: lm.Data, Time: lm.Time}, nil
}
