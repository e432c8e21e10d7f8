package broker

import (
	"context"
	"strings"
	"time"
)

// Origin identifies the streams that hold the job store, the queue and
// the history: revisions and sequences of one origin mean nothing in
// another (a broker whose data was wiped, or another cluster). It changes
// when any of them is made anew.
func (b *Broker) Origin(ctx context.Context) (string, error) {
	var parts []string
	for _, name := range []string{"KV_" + JobsBucket, QueueStream, HistoryStream} {
		st, err := b.js.Stream(ctx, name)
		if err != nil {
			return "", unavailable("read stream info", err)
		}
		parts = append(parts, name+"@"+st.CachedInfo().Created.UTC().Format(time.RFC3339Nano))
	}
	return strings.Join(parts, " "), nil
}
