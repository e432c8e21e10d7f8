package broker

import (
	"context"
	"errors"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
)

// LogSubject is the subject of a job's log lines.
func LogSubject(jobID string) string { return "conveyor.logs." + jobID }

// AppendLog publishes line number n (counting from 0 across the job's
// attempts) of a job's log without waiting for the broker: the returned
// write says when the line is stored. Callers that must know their lines
// landed (before recording a result) wait on the writes.
func (b *Broker) AppendLog(jobID string, n uint64, line conveyor.LogLine) (LogWrite, error) {
	msg, err := logMsg(jobID, n, line)
	if err != nil {
		return LogWrite{}, err
	}
	f, err := b.js.PublishMsgAsync(msg)
	return LogWrite{f}, err
}

// LogWrite is a log line on its way to the broker.
type LogWrite struct{ f jetstream.PubAckFuture }

// Stored receives once the line is stored.
func (w LogWrite) Stored() <-chan *jetstream.PubAck { return w.f.Ok() }

// Failed receives if the line could not be stored.
func (w LogWrite) Failed() <-chan error { return w.f.Err() }

// ReadLogs returns every retained log line of a job, oldest first, after a
// marker line saying how many earlier lines were dropped, if any were. It
// reads what is stored when it is called and returns; it does not follow.
func (b *Broker) ReadLogs(ctx context.Context, jobID string) ([]conveyor.LogLine, error) {
	if !validKey(jobID) {
		return nil, nil
	}
	var lines []conveyor.LogLine
	err := b.eachLog(ctx, jobID, func(msg jetstream.Msg) {
		l := decodeLog(msg)
		if n, ok := lineNumber(msg); ok && n > 0 && len(lines) == 0 {
			lines = append(lines, droppedMarker(n, l))
		}
		lines = append(lines, l)
	})
	if err != nil {
		return nil, err
	}
	return lines, nil
}

// LogEvent is one log line of a job with its sequence in the log stream,
// which orders a job's lines and lets a reader resume after one.
type LogEvent struct {
	Seq  uint64
	Line conveyor.LogLine
}

// FollowLogs delivers the log lines of a job stored after sequence after
// (0: from the first), then each new one as it is stored, until ctx ends
// or stop is called. The channel is closed when following stops. Following
// from the first, a marker line comes first if earlier lines were dropped;
// its Seq is one less than the first retained line's.
func (b *Broker) FollowLogs(ctx context.Context, jobID string, after uint64) (<-chan LogEvent, func(), error) {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{LogSubject(jobID)}}
	if after > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = after + 1
	}
	c, err := b.js.OrderedConsumer(ctx, LogStream, cfg)
	if err != nil {
		return nil, nil, unavailable("follow logs", err)
	}
	it, err := c.Messages()
	if err != nil {
		return nil, nil, unavailable("follow logs", err)
	}
	out := make(chan LogEvent, 64)
	done := make(chan struct{})
	go func() {
		defer close(out)
		first := after == 0
		for {
			msg, err := it.Next()
			if err != nil {
				return // stopped, or the connection closed
			}
			md, err := msg.Metadata()
			if err != nil {
				continue
			}
			l := decodeLog(msg)
			evs := []LogEvent{{Seq: md.Sequence.Stream, Line: l}}
			if n, ok := lineNumber(msg); first && ok && n > 0 {
				evs = append([]LogEvent{{Seq: md.Sequence.Stream - 1, Line: droppedMarker(n, l)}}, evs...)
			}
			first = false
			for _, ev := range evs {
				select {
				case out <- ev:
				case <-done:
					return
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			close(done)
			it.Stop()
		})
	}
	return out, stop, nil
}

// LastLogSeq returns the stream sequence of a job's last stored log line,
// or 0 when it has none.
func (b *Broker) LastLogSeq(ctx context.Context, jobID string) (uint64, error) {
	s, err := b.js.Stream(ctx, LogStream)
	if err != nil {
		return 0, unavailable("read logs", err)
	}
	m, err := s.GetLastMsgForSubject(ctx, LogSubject(jobID))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable("read logs", err)
	}
	return m.Sequence, nil
}
