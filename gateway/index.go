package gateway

import (
	"bytes"
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/conveyor-run/conveyor"
)

// index is the gateway's in-memory view of the live jobs — queued and
// running — fed by one watch of every job record and by the queue. It
// counts them, knows where a job only its queue message holds lives, and
// wakes waiting requests when their job finishes: every waiting client
// shares this one watch instead of opening its own. A job leaves it when
// it turns final; lists, searches and the counts of finished jobs come
// from the gateway's job index on disk (package jobindex), so the memory
// it takes follows the live jobs, not the retained ones.
type index struct {
	mu     sync.RWMutex
	byID   map[string]*entry // live jobs only
	counts map[string]map[conveyor.Status]int
	// atStage counts the unfinished pipeline jobs at each stage, by the
	// stage's algorithm: its backlog, next to its own jobs.
	atStage map[string]map[conveyor.Status]int
	// byTenant counts the live jobs of each tenant (of a token with one),
	// by status, for the tenants' quotas.
	byTenant map[string]map[conveyor.Status]int
	// routed counts the queued jobs that require runner labels, by the
	// algorithm whose queue they are in (a pipeline job's: its stage's)
	// and requirement set (canonical), for GET /v1/algorithms' unmet.
	routed  map[string]map[string]int
	waiters map[string][]*waiter
	// followers are told of every change of a job, coalesced: a follower
	// that has not yet looked finds one signal, however many changes, and
	// the latest record.
	followers map[string][]*follower
	// done counts the jobs that became final, per algorithm and minute.
	done throughput
	// stagesDone counts the stages of pipeline jobs that ended, per
	// stage algorithm and minute, by how they ended: a stage the job
	// moved on from succeeded; the stage a job ended in, as the job did.
	stagesDone map[conveyor.Status]throughput
	// finalBefore reports whether a job the index does not hold is one
	// it saw final before (in the job index on disk): a later write of
	// it is no news.
	finalBefore func(id string) bool
	// onFinal, when set, is told of each job turning final (tests).
	onFinal func(id string)
	// endedUnseen remembers the last jobs seen final while the index
	// held no live version of them, so that a first version coming after
	// (a submit indexed late) does not make them live again.
	endedUnseen recentIDs
	// heard holds the stored jobs whose submit is known to be finished
	// (their queue message seen, or made by this gateway), with when it
	// was learned, for the sweep (see sweep.go); kept for its window.
	heard map[string]time.Time
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
	step      int    // of a pipeline job: the stages it ran before this one
	tenant    string
	requires  string // canonical; "" for none
	seq       uint64 // of the queue message that alone holds the job (0: in the store)
	status    conveyor.Status
	updated   time.Time
}

// summary is the part of a record the index decodes.
type summary struct {
	ID        string                `json:"id"`
	Algorithm string                `json:"algorithm"`
	Status    conveyor.Status       `json:"status"`
	Tenant    string                `json:"tenant,omitempty"`
	Requires  conveyor.Requirements `json:"requires,omitempty"`
	Stage     *stageRef             `json:"stage,omitempty"`
	Pipeline  *struct {
		Stages []string `json:"stages"`
	} `json:"pipeline,omitempty"`
}

// stageRef is the part of a pipeline job's stage the index keeps.
type stageRef struct {
	Name  string `json:"name"`
	Index int    `json:"index"`
	Step  int    `json:"step"`
}

// pipelineField marks the records of pipeline jobs, whose stage is read
// by decoding them whole; requiresField those of jobs that require runner
// labels (or whose input holds the same bytes: decoded whole too).
var (
	pipelineField = []byte(`"pipeline":{"stages":`)
	requiresField = []byte(`"requires":{`)
)

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
	if !ok || bytes.Contains(data, pipelineField) || bytes.Contains(data, requiresField) {
		s = summary{}
		if json.Unmarshal(data, &s) != nil {
			return s, false
		}
	}
	return s, s.ID != ""
}

func newIndex(finalBefore func(id string) bool) *index {
	if finalBefore == nil {
		finalBefore = func(string) bool { return false }
	}
	return &index{
		finalBefore: finalBefore,
		byID:        map[string]*entry{},
		counts:      map[string]map[conveyor.Status]int{},
		atStage:     map[string]map[conveyor.Status]int{},
		byTenant:    map[string]map[conveyor.Status]int{},
		routed:      map[string]map[string]int{},
		waiters:     map[string][]*waiter{},
		followers:   map[string][]*follower{},
		done:        throughput{},
		stagesDone:  map[conveyor.Status]throughput{},
		heard:       map[string]time.Time{},
	}
}

// hear records that the submit of the stored job id is finished.
func (x *index) hear(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.heard[id] = time.Now()
}

// unhear forgets that the submit of id is known to be finished: the
// sweep's resubmit of it failed, the next sweep tries again.
func (x *index) unhear(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.heard, id)
}

// unheard returns the stored jobs waiting (queued or scheduled) whose
// record was written between from and to and whose submit is not known
// to be finished, and marks them heard: each is the sweep's once. It
// forgets what it heard before from.
func (x *index) unheard(from, to time.Time) []string {
	var ids []string
	x.mu.RLock()
	for id, e := range x.byID {
		if e.seq != 0 || e.status != conveyor.StatusQueued && e.status != conveyor.StatusScheduled ||
			e.updated.Before(from) || !e.updated.Before(to) {
			continue
		}
		if _, ok := x.heard[id]; !ok {
			ids = append(ids, id)
		}
	}
	x.mu.RUnlock()
	x.mu.Lock()
	defer x.mu.Unlock()
	for id, at := range x.heard {
		if at.Before(from) {
			delete(x.heard, id)
		}
	}
	now := time.Now()
	for _, id := range ids {
		x.heard[id] = now
	}
	return ids
}

// putSubmitted records j, just queued by this gateway in the message at
// seq, as data, without reading back the record it has.
func (x *index) putSubmitted(j *conveyor.Job, data []byte, updated time.Time, seq uint64) {
	s := summary{ID: j.ID, Algorithm: j.Algorithm, Status: j.Status, Tenant: j.Tenant, Requires: j.Requires}
	if j.Stage != nil {
		s.Stage = &stageRef{j.Stage.Name, j.Stage.Index, j.Stage.Step}
	}
	if j.Pipeline != nil {
		s.Pipeline = &struct {
			Stages []string `json:"stages"`
		}{j.Pipeline.Stages}
	}
	x.putFrom(s, data, 0, updated, seq)
}

// putStored records j, just stored by this gateway as data, unless the
// index has it already (the store's watch came first, perhaps with a
// later version): read-your-writes for a submit that stored its record.
func (x *index) putStored(j *conveyor.Job, updated time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.byID[j.ID]; ok || j.Status.Terminal() {
		return
	}
	e := &entry{algorithm: j.Algorithm, tenant: j.Tenant, requires: j.Requires.Canonical(), status: j.Status, updated: updated}
	if j.Stage != nil {
		e.stage, e.step = j.Stage.Name, j.Stage.Step
	}
	x.byID[j.ID] = e
	x.count(e, +1)
}

// status returns the status of the live job with id, if the index has it.
func (x *index) status(id string) (conveyor.Status, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if e, ok := x.byID[id]; ok {
		return e.status, true
	}
	return "", false
}

// has reports whether the index has the live job with id.
func (x *index) has(id string) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	_, ok := x.byID[id]
	return ok
}

// putFrom records the record data, summarized as s, from the store at
// revision rev (seq 0) or from the queue message at seq (rev 0). It
// reports whether the job turned final, and the status the index had of
// it before ("" when it held no such live job).
func (x *index) putFrom(s summary, data []byte, rev uint64, updated time.Time, seq uint64) (turnedFinal bool, prev conveyor.Status) {
	turnedFinal, prev, wake := x.putThen(s, data, rev, updated, seq)
	wake()
	return turnedFinal, prev
}

// putThen is putFrom, but for the requests waiting for the job to be
// final, which it leaves to wake: the caller calls wake once it has told
// the job index too, so that a request woken finds the change there.
func (x *index) putThen(s summary, data []byte, rev uint64, updated time.Time, seq uint64) (turnedFinal bool, prev conveyor.Status, wake func()) {
	x.mu.Lock()
	defer x.mu.Unlock()
	wake = func() {}
	e, ok := x.byID[s.ID]
	if ok && seq != 0 {
		return false, e.status, wake
	}
	if !ok && seq != 0 && x.endedUnseen.has(s.ID) {
		// The job's first version, from its queue message, after the
		// store's watch brought its last (it ran before its submit was
		// indexed): not live.
		return false, "", wake
	}
	if ok {
		prev = e.status
	}
	final := s.Status.Terminal()
	if final {
		// A job the index does not hold turns final now unless the job
		// index saw it final before (a later write of a final job).
		turnedFinal = ok || !x.finalBefore(s.ID)
	}
	if s.Stage != nil && (ok && e.stage != "" || !ok && (!final || turnedFinal)) {
		var seen *entry
		if ok {
			seen = e
		}
		x.stageEnded(seen, s, updated)
	}
	if turnedFinal {
		x.done.add(s.Algorithm, updated, time.Now())
		if x.onFinal != nil {
			x.onFinal(s.ID)
		}
	}
	if ok {
		x.count(e, -1)
	}
	switch {
	case final && !ok:
		x.endedUnseen.add(s.ID)
	case final && ok:
		delete(x.byID, s.ID)
	case !final:
		if !ok {
			e = &entry{algorithm: s.Algorithm, tenant: s.Tenant, requires: s.Requires.Canonical()}
			x.byID[s.ID] = e
		}
		e.status, e.updated, e.seq = s.Status, updated, seq
		if s.Stage != nil {
			e.stage, e.step = s.Stage.Name, s.Stage.Step
		}
		x.count(e, +1)
	}
	for _, f := range x.followers[s.ID] {
		f.tell(data, rev)
	}
	if final {
		waiters := x.waiters[s.ID]
		delete(x.waiters, s.ID)
		wake = func() {
			for _, w := range waiters {
				w.job = data
				close(w.done)
			}
		}
	}
	return turnedFinal, prev, wake
}

// stageEnded counts the stage the live pipeline job e was in when the
// job moved on from it (succeeded) or ended in it (as the job, s, did).
// A gateway that missed changes between (it was down) counts the stage it
// knew the job in, and the one the job ended in.
func (x *index) stageEnded(e *entry, s summary, at time.Time) {
	// e is nil for a job seen the first time: the stages before its
	// current one ended before.
	count := func(stage string, status conveyor.Status) {
		tp := x.stagesDone[status]
		if tp == nil {
			tp = throughput{}
			x.stagesDone[status] = tp
		}
		tp.add(stage, at, time.Now())
	}
	from := 0 // the first step not counted yet
	if e != nil {
		if s.Stage.Step > e.step {
			count(e.stage, conveyor.StatusSucceeded)
		}
		from = e.step + 1
	}
	// Steps this gateway missed (it saw the job late, or the store's
	// watch skipped versions): known only for a job that went straight
	// through its stages, whose step is its stage's index.
	if s.Pipeline != nil && s.Stage.Step == s.Stage.Index && s.Stage.Index <= len(s.Pipeline.Stages) {
		for step := from; step < s.Stage.Step; step++ {
			count(s.Pipeline.Stages[step], conveyor.StatusSucceeded)
		}
	}
	if s.Status.Terminal() {
		count(s.Stage.Name, s.Status)
	}
}

// putLive records a live job the job index on disk holds, at start.
func (x *index) putLive(s *conveyor.JobSummary, seq uint64, updated time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.byID[s.ID]; ok || s.Status.Terminal() {
		return
	}
	e := &entry{algorithm: s.Algorithm, tenant: s.Tenant, requires: s.Requires.Canonical(), status: s.Status, updated: updated, seq: seq}
	if s.Stage != nil {
		e.stage, e.step = s.Stage.Name, s.Stage.Step
	}
	x.byID[s.ID] = e
	x.count(e, +1)
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
}

func (x *index) count(e *entry, d int) {
	add(x.counts, e.algorithm, e.status, d)
	if e.tenant != "" {
		add(x.byTenant, e.tenant, e.status, d)
	}
	if e.stage != "" && !e.status.Terminal() {
		add(x.atStage, e.stage, e.status, d)
	}
	if e.requires != "" && e.status == conveyor.StatusQueued {
		alg := cmp.Or(e.stage, e.algorithm)
		m := x.routed[alg]
		if m == nil {
			m = map[string]int{}
			x.routed[alg] = m
		}
		if m[e.requires] += d; m[e.requires] == 0 {
			delete(m, e.requires)
		}
	}
}

// routedQueued returns how many queued jobs in algorithm's queues
// require runner labels, by requirement set (canonical).
func (x *index) routedQueued(algorithm string) map[string]int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return maps.Clone(x.routed[algorithm])
}

func add(counts map[string]map[conveyor.Status]int, algorithm string, status conveyor.Status, d int) {
	m := counts[algorithm]
	if m == nil {
		m = map[conveyor.Status]int{}
		counts[algorithm] = m
	}
	m[status] += d
}

// prune forgets live jobs not updated since before cutoff: the store has
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

// oldestQueued returns the id of the oldest queued job of each algorithm
// that has one: a scrape's work, over the live jobs.
func (x *index) oldestQueued() map[string]string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := map[string]string{}
	for id, e := range x.byID {
		if e.status != conveyor.StatusQueued {
			continue
		}
		if have, ok := out[e.algorithm]; !ok || id < have {
			out[e.algorithm] = id
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

// countOfTenant is countOf for the jobs of one tenant: a walk of the live
// jobs, for the requests of a tenant's token.
// tenantCount returns how many live jobs of tenant are in status.
func (x *index) tenantCount(tenant string, status conveyor.Status) int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.byTenant[tenant][status]
}

func (x *index) countOfTenant(algorithm string, status conveyor.Status, tenant string) int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := 0
	for _, e := range x.byID {
		if e.tenant == tenant && e.status == status && (e.algorithm == algorithm || e.stage == algorithm) {
			n++
		}
	}
	return n
}

// recentIDs is a bounded set of the ids added last.
type recentIDs struct {
	ring [recentMax]string
	next int
	set  map[string]struct{}
}

// recentMax bounds recentIDs.
const recentMax = 1024

func (r *recentIDs) add(id string) {
	if r.set == nil {
		r.set = make(map[string]struct{}, recentMax)
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.set, old)
	}
	r.ring[r.next] = id
	r.next = (r.next + 1) % recentMax
	r.set[id] = struct{}{}
}

func (r *recentIDs) has(id string) bool {
	_, ok := r.set[id]
	return ok
}
