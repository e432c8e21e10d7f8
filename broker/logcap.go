package broker

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
)

// A job's log is capped in size by its writer: when the lines stored pass
// the cap, the oldest are purged from the log stream. Each stored line
// carries its number in the job's log (0 for the first, across attempts)
// in the LineHeader header, so a reader whose first line is number N knows
// that N earlier lines were dropped and says so with a marker line.

// LineHeader is the header of a stored log line holding its number in the
// job's log.
const LineHeader = "Conveyor-Line"

// DefaultMaxLogBytes is the default cap of one job's stored log.
const DefaultMaxLogBytes = 1 << 20

// LogState is what a writer needs to go on with a job's log: the number of
// its next line, and the size of each retained line (LineSize), oldest
// first.
type LogState struct {
	Next  uint64
	Sizes []int
}

// ReadLogState returns the state of a job's stored log; the zero state
// when it has none.
func (b *Broker) ReadLogState(ctx context.Context, jobID string) (LogState, error) {
	var st LogState
	last, err := b.LastLogSeq(ctx, jobID)
	if err != nil || last == 0 {
		return st, err
	}
	err = b.eachLog(ctx, jobID, func(msg jetstream.Msg) {
		st.Sizes = append(st.Sizes, LineSize(decodeLog(msg)))
		if n, ok := lineNumber(msg); ok {
			st.Next = n + 1
		} else {
			st.Next++
		}
	})
	return st, err
}

// LineSize is what a log line counts against its job's cap: its text and
// a newline.
func LineSize(l conveyor.LogLine) int { return len(l.Line) + 1 }

// TrimLogs purges the oldest lines of a job's log, keeping the newest keep.
// Lines still being published when it is called count as newer than any
// it keeps only once stored: callers wait for their publishes first.
func (b *Broker) TrimLogs(ctx context.Context, jobID string, keep uint64) error {
	s, err := b.js.Stream(ctx, LogStream)
	if err != nil {
		return unavailable("trim logs", err)
	}
	if err := s.Purge(ctx, jetstream.WithPurgeSubject(LogSubject(jobID)), jetstream.WithPurgeKeep(keep)); err != nil {
		return unavailable("trim logs", err)
	}
	return nil
}

// droppedMarker is the line a reader shows in place of n dropped lines.
func droppedMarker(n uint64, first conveyor.LogLine) conveyor.LogLine {
	s := "s"
	if n == 1 {
		s = ""
	}
	return conveyor.LogLine{Time: first.Time, Stream: "log", Attempt: first.Attempt,
		Line: "… " + strconv.FormatUint(n, 10) + " earlier line" + s + " dropped (the job's log is capped)"}
}

// lineNumber reads the number of a stored log line.
func lineNumber(msg jetstream.Msg) (uint64, bool) {
	h := msg.Headers()
	if h == nil {
		return 0, false
	}
	n, err := strconv.ParseUint(h.Get(LineHeader), 10, 64)
	return n, err == nil
}

// logMsg makes the message that stores line number n of a job's log.
func logMsg(jobID string, n uint64, line conveyor.LogLine) (*nats.Msg, error) {
	data, err := json.Marshal(line)
	if err != nil {
		return nil, err
	}
	msg := nats.NewMsg(LogSubject(jobID))
	msg.Data = data
	msg.Header.Set(LineHeader, strconv.FormatUint(n, 10))
	return msg, nil
}

// decodeLog reads a stored log line.
func decodeLog(msg jetstream.Msg) conveyor.LogLine {
	var l conveyor.LogLine
	if err := json.Unmarshal(msg.Data(), &l); err != nil {
		l = conveyor.LogLine{Stream: "log", Line: "(unreadable log entry: " + err.Error() + ")"}
	}
	return l
}

// eachLog calls f with each stored log line of a job, oldest first.
func (b *Broker) eachLog(ctx context.Context, jobID string, f func(jetstream.Msg)) error {
	c, err := b.js.OrderedConsumer(ctx, LogStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{LogSubject(jobID)},
	})
	if err != nil {
		return unavailable("read logs", err)
	}
	pending := c.CachedInfo().NumPending
	var seen uint64
	for seen < pending {
		batch, err := c.Fetch(int(min(pending-seen, 1000)))
		if err != nil {
			return unavailable("read logs", err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			f(msg)
		}
		seen += uint64(n)
		if err := batch.Error(); err != nil {
			return unavailable("read logs", err)
		}
		if n == 0 {
			break
		}
	}
	return nil
}
