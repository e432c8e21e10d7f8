package broker

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"
)

// ChangeHeads returns where the change feed of the jobs stands now: the
// last revision written to the job store, the sequence of the last queue
// message and that of the last history message (0 for none). Following
// all three from after them (Watch of JobsBucket from that revision,
// FollowQueue, FollowHistory) misses no change made since.
func (b *Broker) ChangeHeads(ctx context.Context) (jobsRev, queueSeq, historySeq uint64, err error) {
	st, err := b.jobs.Status(ctx)
	if err != nil {
		return 0, 0, 0, unavailable("bucket status", err)
	}
	if bs, ok := st.(*jetstream.KeyValueBucketStatus); ok {
		jobsRev = bs.StreamInfo().State.LastSeq
	}
	qs, err := b.queueStream(ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	info, err := qs.Info(ctx)
	if err != nil {
		return 0, 0, 0, unavailable("queue status", err)
	}
	hs, err := b.historyStream(ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	hinfo, err := hs.Info(ctx)
	if err != nil {
		return 0, 0, 0, unavailable("history status", err)
	}
	return jobsRev, info.State.LastSeq, hinfo.State.LastSeq, nil
}
