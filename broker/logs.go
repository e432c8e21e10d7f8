package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
)

// LogSubject is the subject of a job's log lines.
func LogSubject(jobID string) string { return "conveyor.logs." + jobID }

// AppendLog publishes one log line of a job without waiting for the broker:
// the returned future resolves when the line is stored. Callers that must
// know their lines landed (before recording a result) wait on the futures.
func (b *Broker) AppendLog(jobID string, line conveyor.LogLine) (jetstream.PubAckFuture, error) {
	data, err := json.Marshal(line)
	if err != nil {
		return nil, err
	}
	return b.js.PublishAsync(LogSubject(jobID), data)
}

// ReadLogs returns every retained log line of a job, oldest first. It reads
// what is stored when it is called and returns; it does not follow.
func (b *Broker) ReadLogs(ctx context.Context, jobID string) ([]conveyor.LogLine, error) {
	if !validKey(jobID) {
		return nil, nil
	}
	c, err := b.js.OrderedConsumer(ctx, LogStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{LogSubject(jobID)},
	})
	if err != nil {
		return nil, unavailable("read logs", err)
	}
	pending := c.CachedInfo().NumPending
	lines := make([]conveyor.LogLine, 0, pending)
	for uint64(len(lines)) < pending {
		batch, err := c.Fetch(int(min(pending-uint64(len(lines)), 1000)))
		if err != nil {
			return nil, unavailable("read logs", err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			var l conveyor.LogLine
			if err := json.Unmarshal(msg.Data(), &l); err != nil {
				l = conveyor.LogLine{Stream: "log", Line: fmt.Sprintf("(unreadable log entry: %v)", err)}
			}
			lines = append(lines, l)
		}
		if err := batch.Error(); err != nil {
			return nil, unavailable("read logs", err)
		}
		if n == 0 {
			break
		}
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
// or stop is called. The channel is closed when following stops.
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
		for {
			msg, err := it.Next()
			if err != nil {
				return // stopped, or the connection closed
			}
			md, err := msg.Metadata()
			if err != nil {
				continue
			}
			var l conveyor.LogLine
			if json.Unmarshal(msg.Data(), &l) != nil {
				l = conveyor.LogLine{Stream: "log", Line: "(unreadable log entry)"}
			}
			select {
			case out <- LogEvent{Seq: md.Sequence.Stream, Line: l}:
			case <-done:
				return
			case <-ctx.Done():
				return
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
