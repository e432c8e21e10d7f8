package runner

import (
	"context"
	"time"
)

// logCap accounts for a job's stored log against its cap: the number of
// the next line, and the sizes of the retained lines, oldest first.
type logCap struct {
	next  uint64
	sizes []int // retained lines; sizes[head:] are live
	head  int
	total int
}

// loadLogCap reads the state of a job's log, which has lines already when
// an earlier attempt logged. When the broker cannot say, it starts afresh:
// the cap then counts only this attempt's lines.
func loadLogCap(b brokerAPI, jobID string) *logCap {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, _ := b.ReadLogState(ctx, jobID)
	c := &logCap{next: st.Next, sizes: st.Sizes}
	for _, n := range st.Sizes {
		c.total += n
	}
	return c
}

// add counts a line of size n just published. When the log is over max,
// it forgets the oldest lines until it is under three quarters of max —
// so trims come in batches, not one per line — and returns how many lines
// the store should keep.
func (c *logCap) add(n, max int) (keep uint64, trim bool) {
	c.next++
	c.sizes = append(c.sizes, n)
	c.total += n
	if c.total <= max {
		return 0, false
	}
	for c.total > max*3/4 && len(c.sizes)-c.head > 1 {
		c.total -= c.sizes[c.head]
		c.head++
	}
	if c.head > len(c.sizes)/2 {
		c.sizes = append(c.sizes[:0], c.sizes[c.head:]...)
		c.head = 0
	}
	return uint64(len(c.sizes) - c.head), true
}

// trimLocked waits until the published lines are stored, then purges all
// but the newest keep lines of the job's log. r.mu is held: other lines
// wait, which also slows a handler logging faster than the broker stores.
func (r *reporter) trimLocked(keep uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, p := range r.pending {
		select {
		case <-p.w.Stored():
		case <-p.w.Failed():
		case <-ctx.Done():
			return
		}
	}
	r.pending, r.inflight = r.pending[:0], 0
	_ = r.b.TrimLogs(ctx, r.id, keep)
}
