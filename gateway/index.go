package gateway

import (
	"bytes"
	"encoding/json"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conveyor-run/conveyor"
)

// index is the gateway's in-memory view of the job store, fed by one watch
// of every job record. It answers lists (newest first, filtered) and counts,
// and wakes waiting requests when their job finishes — every waiting client
// shares this one watch instead of opening its own.
type index struct {
	mu     sync.RWMutex
	byID   map[string]*entry
	ids    []string // ascending; ids sort by creation time
	counts map[string]map[conveyor.Status]int
	// atStage counts the unfinished pipeline jobs at each stage, by the
	// stage's algorithm: its backlog, next to its own jobs.
	atStage map[string]map[conveyor.Status]int
	waiters map[string][]*waiter
	// followers are told of every change of a job, coalesced: a follower
	// that has not yet looked finds one signal, however many changes, and
	// the latest record.
	followers map[string][]*follower
	// watchers get every status change of every job, for /v1/events.
	watchers map[*watcher]struct{}
	// done counts the jobs that became final, per algorithm and minute.
	done throughput
}

// watcher is a subscriber to every job change. A watcher that does not
// keep up misses changes and is told so (lagged), rather than slowing the
// index.
type watcher struct {
	ch     chan summary
	lagged atomic.Bool
}

// waiter is a request waiting for a job to become final. When it does, the
// index sets job to the final record and closes done.
type waiter struct {
	done chan struct{}
	job  []byte
}

type entry struct {
	algorithm string
	stage     string // of a pipeline job: the algorithm of its current stage
	tenant    string
	seq       uint64 // of the queue message that alone holds the job (0: in the store)
	status    conveyor.Status
	updated   time.Time
}

// summary is the part of a record the index decodes.
type summary struct {
	ID        string          `json:"id"`
	Algorithm string          `json:"algorithm"`
	Status    conveyor.Status `json:"status"`
	Tenant    string          `json:"tenant,omitempty"`
	Stage     *struct {
		Name string `json:"name"`
	} `json:"stage,omitempty"`
}

// pipelineField marks the records of pipeline jobs, whose stage is read
// by decoding them whole.
var pipelineField = []byte(`"pipeline":{"stages":`)

// summarize reads the id, algorithm and status of a job record. Records
// are written by json.Marshal of conveyor.Job, which puts those three
// fields first, with values that never need escaping; the fast path reads
// just that prefix and never scans a large input or output. Anything else
// is decoded whole.
func summarize(data []byte) (summary, bool) {
	var s summary
	rest, ok := data, true
	field := func(name string) string {
		key := `"` + name + `":"`
		if !ok || !bytes.HasPrefix(rest, []byte(key)) {
			ok = false
			return ""
		}
		rest = rest[len(key):]
		end := bytes.IndexByte(rest, '"')
		if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
			ok = false
			return ""
		}
		v := string(rest[:end])
		rest = rest[end+1:]
		if len(rest) > 0 && rest[0] == ',' {
			rest = rest[1:]
		}
		return v
	}
	if len(rest) > 0 && rest[0] == '{' {
		rest = rest[1:]
		s.ID, s.Algorithm, s.Status = field("id"), field("algorithm"), conveyor.Status(field("status"))
		if ok && bytes.HasPrefix(rest, []byte(`"tenant":"`)) {
			s.Tenant = field("tenant")
		}
	} else {
		ok = false
	}
	if !ok || bytes.Contains(data, pipelineField) {
		s = summary{}
		if json.Unmarshal(data, &s) != nil {
			return s, false
		}
	}
	return s, s.ID != ""
}

func newIndex() *index {
	return &index{
		byID:      map[string]*entry{},
		counts:    map[string]map[conveyor.Status]int{},
		atStage:   map[string]map[conveyor.Status]int{},
		waiters:   map[string][]*waiter{},
		followers: map[string][]*follower{},
		watchers:  map[*watcher]struct{}{},
		done:      throughput{},
	}
}

// put records the latest version of a job record, at revision rev of the
// store, and reports whether it is the job turning final: the first final
// record the index has of the job.
func (x *index) put(data []byte, rev uint64, updated time.Time) (turnedFinal bool) {
	if s, ok := summarize(data); ok {
		return x.putFrom(s, data, rev, updated, 0)
	}
	return false
}

// putQueued records a job its queue message carries, unless the index has
// it already: a job's message is only its first version, and any record of
// it in the store is newer.
func (x *index) putQueued(data []byte, updated time.Time, seq uint64) {
	if s, ok := summarize(data); ok {
		x.putFrom(s, data, 0, updated, seq)
	}
}

// putSubmitted records j, just queued by this gateway in the message at
// seq, as data: like putQueued, without reading back the record it has.
func (x *index) putSubmitted(j *conveyor.Job, data []byte, updated time.Time, seq uint64) {
	s := summary{ID: j.ID, Algorithm: j.Algorithm, Status: j.Status, Tenant: j.Tenant}
	if j.Stage != nil {
		s.Stage = &struct {
			Name string `json:"name"`
		}{j.Stage.Name}
	}
	x.putFrom(s, data, 0, updated, seq)
}

// status returns the status of the job with id, if the index has it.
func (x *index) status(id string) (conveyor.Status, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if e, ok := x.byID[id]; ok {
		return e.status, true
	}
	return "", false
}

// has reports whether the index has the job with id.
func (x *index) has(id string) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	_, ok := x.byID[id]
	return ok
}

// putFrom records the record data, summarized as s, from the store at
// revision rev (seq 0) or from the queue message at seq (rev 0).
func (x *index) putFrom(s summary, data []byte, rev uint64, updated time.Time, seq uint64) (turnedFinal bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	e, ok := x.byID[s.ID]
	if ok && seq != 0 {
		return false
	}
	statusChanged := !ok || e.status != s.Status
	turnedFinal = s.Status.Terminal() && (!ok || !e.status.Terminal())
	if turnedFinal {
		x.done.add(s.Algorithm, updated, time.Now())
	}
	if !ok {
		e = &entry{algorithm: s.Algorithm, tenant: s.Tenant}
		x.byID[s.ID] = e
		if n := len(x.ids); n == 0 || x.ids[n-1] < s.ID {
			x.ids = append(x.ids, s.ID)
		} else {
			i, _ := slices.BinarySearch(x.ids, s.ID)
			x.ids = slices.Insert(x.ids, i, s.ID)
		}
	} else {
		x.count(e, -1)
	}
	e.status, e.updated, e.seq = s.Status, updated, seq
	if s.Stage != nil {
		e.stage = s.Stage.Name
	}
	x.count(e, +1)
	for _, f := range x.followers[s.ID] {
		f.tell(data, rev)
	}
	if statusChanged {
		for w := range x.watchers {
			select {
			case w.ch <- s:
			default:
				w.lagged.Store(true)
			}
		}
	}
	if s.Status.Terminal() {
		for _, w := range x.waiters[s.ID] {
			w.job = data
			close(w.done)
		}
		delete(x.waiters, s.ID)
	}
	return turnedFinal
}

// remove forgets a job (deleted, or expired).
func (x *index) remove(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(id)
}

func (x *index) removeLocked(id string) {
	e, ok := x.byID[id]
	if !ok {
		return
	}
	x.count(e, -1)
	delete(x.byID, id)
	if i, found := slices.BinarySearch(x.ids, id); found {
		x.ids = slices.Delete(x.ids, i, i+1)
	}
}

func (x *index) count(e *entry, d int) {
	add(x.counts, e.algorithm, e.status, d)
	if e.stage != "" && !e.status.Terminal() {
		add(x.atStage, e.stage, e.status, d)
	}
}

func add(counts map[string]map[conveyor.Status]int, algorithm string, status conveyor.Status, d int) {
	m := counts[algorithm]
	if m == nil {
		m = map[conveyor.Status]int{}
		counts[algorithm] = m
	}
	m[status] += d
}

// prune forgets jobs not updated since before cutoff: the store has
// expired them.
func (x *index) prune(cutoff time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	var gone []string
	for id, e := range x.byID {
		if e.updated.Before(cutoff) {
			gone = append(gone, id)
		}
	}
	for _, id := range gone {
		x.removeLocked(id)
	}
}

// waitTerminal registers a wait for the job to be seen in a terminal
// status, and returns the waiter and a func to call when no longer waiting.
// Register before reading the job's current status, so a change in between
// is not missed.
func (x *index) waitTerminal(id string) (*waiter, func()) {
	w := &waiter{done: make(chan struct{})}
	return w, subscribe(x, x.waiters, id, w)
}

// follow returns a follower of the job, signaled after each change of it
// (several changes may share one signal), and a func to stop following.
func (x *index) follow(id string) (*follower, func()) {
	f := &follower{c: make(chan struct{}, 1)}
	return f, subscribe(x, x.followers, id, f)
}

// follower is a request following one job: an event stream, a log follow.
// It keeps the latest stored record the index has seen, so that a change
// costs the follower no read of the store.
type follower struct {
	c    chan struct{}
	mu   sync.Mutex
	data []byte
	rev  uint64
}

// changed receives a signal after changes of the job.
func (f *follower) changed() <-chan struct{} { return f.c }

// latest returns the newest stored record seen since following began, and
// its revision; nil if none was (a change only its queue message knows).
func (f *follower) latest() ([]byte, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.data, f.rev
}

// tell hands the follower a record (rev 0: from the queue, not stored)
// and signals it.
func (f *follower) tell(data []byte, rev uint64) {
	if rev > 0 {
		f.mu.Lock()
		if rev > f.rev {
			f.data, f.rev = data, rev
		}
		f.mu.Unlock()
	}
	select {
	case f.c <- struct{}{}:
	default:
	}
}

// subscribe adds v to the subscribers m[id] of a job and returns the func
// that removes it again.
func subscribe[T comparable](x *index, m map[string][]T, id string, v T) func() {
	x.mu.Lock()
	m[id] = append(m[id], v)
	x.mu.Unlock()
	return func() {
		x.mu.Lock()
		defer x.mu.Unlock()
		vs := m[id]
		if i := slices.Index(vs, v); i >= 0 {
			vs = slices.Delete(vs, i, i+1)
		}
		if len(vs) == 0 {
			delete(m, id)
		} else {
			m[id] = vs
		}
	}
}

// watchAll subscribes to every change of every job, and returns the
// watcher and a func to unsubscribe.
func (x *index) watchAll() (*watcher, func()) {
	w := &watcher{ch: make(chan summary, 256)}
	x.mu.Lock()
	x.watchers[w] = struct{}{}
	x.mu.Unlock()
	return w, func() {
		x.mu.Lock()
		delete(x.watchers, w)
		x.mu.Unlock()
	}
}

// page returns up to limit ids, newest first, of jobs matching the filters
// (and of tenant, unless allTenants),
// starting after cursor (an id; "" for the newest), and the cursor of the
// next page ("" when there is none).
func (x *index) page(algorithm string, status conveyor.Status, tenant string, allTenants bool, cursor string, limit int) (ids []string, next string) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	i := len(x.ids)
	if cursor != "" {
		i, _ = slices.BinarySearch(x.ids, cursor) // first id >= cursor: start below it
	}
	for i--; i >= 0; i-- {
		id := x.ids[i]
		e := x.byID[id]
		if (algorithm != "" && e.algorithm != algorithm) || (status != "" && e.status != status) || (!allTenants && e.tenant != tenant) {
			continue
		}
		if len(ids) == limit {
			return ids, ids[len(ids)-1]
		}
		ids = append(ids, id)
	}
	return ids, ""
}

// oldestQueued returns the id of the oldest queued job of each algorithm
// that has one. It walks the index from the oldest job: a scrape's work.
func (x *index) oldestQueued() map[string]string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	want := 0
	for _, m := range x.counts {
		if m[conveyor.StatusQueued] > 0 {
			want++
		}
	}
	out := make(map[string]string, want)
	for _, id := range x.ids {
		if len(out) == want {
			break
		}
		if e := x.byID[id]; e.status == conveyor.StatusQueued {
			if _, seen := out[e.algorithm]; !seen {
				out[e.algorithm] = id
			}
		}
	}
	return out
}

// queuedSeq returns the sequence of the queue message that alone holds the
// job with id, or 0 when the store has its record (or it is unknown).
func (x *index) queuedSeq(id string) uint64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if e := x.byID[id]; e != nil {
		return e.seq
	}
	return 0
}

// countOf returns how many jobs of algorithm are in status, counting the
// pipeline jobs whose current stage it is with its own.
func (x *index) countOf(algorithm string, status conveyor.Status) int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.counts[algorithm][status] + x.atStage[algorithm][status]
}
