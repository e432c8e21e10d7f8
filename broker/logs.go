package broker

import (
	"context"
	"encoding/json"
	"fmt"

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
