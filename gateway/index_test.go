package gateway

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/conveyor-run/conveyor"
)

func TestSummarize(t *testing.T) {
	j := &conveyor.Job{ID: "01ABC", Algorithm: "is_prime", Status: conveyor.StatusRunning, Input: json.RawMessage(`{"n":7}`)}
	data, _ := json.Marshal(j)
	for name, in := range map[string]string{
		"as written":    string(data),
		"other order":   `{"input":{"x":[1,2]},"status":"running","algorithm":"is_prime","id":"01ABC"}`,
		"with spaces":   ` { "id" : "01ABC", "algorithm":"is_prime" , "status":"running"}`,
		"extra leading": `{"v":1,"id":"01ABC","algorithm":"is_prime","status":"running"}`,
		"with tenant":   `{"id":"01ABC","algorithm":"is_prime","status":"running","tenant":"acme","input":{}}`,
	} {
		s, ok := summarize([]byte(in))
		if !ok || s.ID != "01ABC" || s.Algorithm != "is_prime" || s.Status != conveyor.StatusRunning {
			t.Errorf("%s: got %+v, %v", name, s, ok)
		}
	}
	if s, _ := summarize([]byte(`{"id":"01ABC","algorithm":"a","status":"queued","tenant":"acme","input":{}}`)); s.Tenant != "acme" {
		t.Errorf("tenant: %+v", s)
	}
	for _, bad := range []string{``, `[]`, `{"id":`, `{"algorithm":"a"}`} {
		if s, ok := summarize([]byte(bad)); ok {
			t.Errorf("%q: got %+v, want failure", bad, s)
		}
	}
}

// TestSummarizeFastPath: json.Marshal of a conveyor.Job writes id,
// algorithm, status and tenant first, in that order — what summarize's
// fast path reads without decoding the record (a reordering of the
// struct's fields would send every record down the slow path).
func TestSummarizeFastPath(t *testing.T) {
	j := &conveyor.Job{ID: "01ABC", Algorithm: "is_prime", Status: conveyor.StatusQueued, Tenant: "acme", Input: json.RawMessage(`{"n":7}`)}
	data, _ := json.Marshal(j)
	if want := `{"id":"01ABC","algorithm":"is_prime","status":"queued","tenant":"acme",`; !strings.HasPrefix(string(data), want) {
		t.Fatalf("a job record begins %.80s, want %s", data, want)
	}
}

// put applies a stored record to x, as the store watch does.
func put(x *index, data []byte) bool {
	s, ok := summarize(data)
	if !ok {
		panic("unreadable record " + string(data))
	}
	turnedFinal, _ := x.putFrom(s, data, 1, time.Now(), 0)
	return turnedFinal
}

// newTestIndex returns an index whose view of the jobs seen final before
// is a set, as the job index on disk would be.
func newTestIndex() *index {
	finals := map[string]bool{}
	var x *index
	x = newIndex(func(id string) bool { return finals[id] })
	x.onFinal = func(id string) { finals[id] = true }
	return x
}

func TestIndexLiveAndWait(t *testing.T) {
	x := newTestIndex()
	putJob := func(id, alg string, st conveyor.Status) bool {
		data, _ := json.Marshal(&conveyor.Job{ID: id, Algorithm: alg, Status: st})
		return put(x, data)
	}
	for _, id := range []string{"03", "01", "05", "02", "04"} {
		alg := "a"
		if id == "02" || id == "04" {
			alg = "b"
		}
		putJob(id, alg, conveyor.StatusQueued)
	}
	if q := x.oldestQueued(); q["a"] != "01" || q["b"] != "02" {
		t.Fatalf("oldest queued: %v", q)
	}
	w, stop := x.waitTerminal("03")
	defer stop()
	putJob("03", "a", conveyor.StatusRunning)
	select {
	case <-w.done:
		t.Fatal("woken by a non-terminal status")
	default:
	}
	if !putJob("03", "a", conveyor.StatusSucceeded) {
		t.Error("a job turning final was not reported so")
	}
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the waiter was not woken by a terminal status within 30s")
	}
	if !strings.Contains(string(w.job), `"succeeded"`) {
		t.Fatalf("waiter got %s", w.job)
	}
	if putJob("03", "a", conveyor.StatusSucceeded) {
		t.Error("a later write of a final job was reported as turning final")
	}
	if x.has("03") || len(x.byID) != 4 {
		t.Errorf("a final job stays in memory: %d live jobs", len(x.byID))
	}
	if x.countOf("a", conveyor.StatusQueued) != 2 || x.countOf("a", conveyor.StatusRunning) != 0 {
		t.Fatalf("counts: %v", x.counts)
	}
	x.prune(time.Now().Add(time.Hour))
	if len(x.byID) != 0 || x.countOf("a", conveyor.StatusQueued) != 0 {
		t.Fatalf("after prune: %d live jobs", len(x.byID))
	}
}

func BenchmarkSummarize(b *testing.B) {
	j := &conveyor.Job{ID: "01M81GG4EDC8MJJT5BEJ374GZQ", Algorithm: "is_prime", Status: conveyor.StatusSucceeded,
		Input: json.RawMessage(`{"text":"` + strings.Repeat("lorem ipsum ", 1000) + `"}`), MaxAttempts: 3, CreatedAt: time.Now()}
	data, _ := json.Marshal(j)
	b.ReportAllocs()
	for b.Loop() {
		summarize(data)
	}
}

// TestIndexCountsStages: a pipeline job counts under its pipeline and, until
// it is final, under its current stage — a stage's backlog includes the
// pipeline jobs waiting for it — and a job whose input merely looks like a
// stage does not.
func TestIndexCountsStages(t *testing.T) {
	x := newTestIndex()
	j := &conveyor.Job{ID: "01A", Algorithm: "pipe", Status: conveyor.StatusQueued, Input: json.RawMessage(`{}`)}
	j.EnterPipeline(conveyor.Pipeline{Stages: []string{"a", "b"}})
	putJob := func(j *conveyor.Job) {
		data, _ := json.Marshal(j)
		put(x, data)
	}
	putJob(j)
	putJob(&conveyor.Job{ID: "01B", Algorithm: "a", Status: conveyor.StatusQueued, Input: json.RawMessage(`{"stage":{"name":"b"}}`)})
	counts := func() [4]int {
		return [4]int{x.countOf("pipe", conveyor.StatusQueued), x.countOf("a", conveyor.StatusQueued), x.countOf("b", conveyor.StatusQueued), x.countOf("b", conveyor.StatusRunning)}
	}
	if got := counts(); got != [4]int{1, 2, 0, 0} {
		t.Fatalf("at stage a: pipe, a, b queued, b running = %v, want [1 2 0 0]", got)
	}
	j.Stage = &conveyor.Stage{Name: "b", Index: 1, Of: 2, Step: 1}
	j.Status = conveyor.StatusRunning
	putJob(j)
	if got := counts(); got != [4]int{0, 1, 0, 1} {
		t.Fatalf("running stage b: %v, want [0 1 0 1]", got)
	}
	j.Status = conveyor.StatusSucceeded
	putJob(j)
	if got := counts(); got != [4]int{0, 1, 0, 0} {
		t.Fatalf("finished: %v, want [0 1 0 0]", got)
	}
}

// TestStagesSeenLate: a pipeline job whose earlier versions the gateway
// never saw (it ran before its submit was indexed, or the store's watch
// skipped versions) still counts each stage it went through, and its
// first version coming after its last does not make it live again.
func TestStagesSeenLate(t *testing.T) {
	x := newIndex(nil)
	j := &conveyor.Job{ID: "01LATE", Algorithm: "pipe", Status: conveyor.StatusQueued, Input: json.RawMessage(`{}`)}
	j.EnterPipeline(conveyor.Pipeline{Stages: []string{"a", "b", "c"}})
	first, _ := json.Marshal(j)
	j.Stage = &conveyor.Stage{Name: "c", Index: 2, Of: 3, Step: 2}
	j.Status = conveyor.StatusFailed
	data, _ := json.Marshal(j)
	put(x, data)
	now := time.Now()
	for stage, want := range map[string]map[conveyor.Status]int{
		"a": {conveyor.StatusSucceeded: 1}, "b": {conveyor.StatusSucceeded: 1}, "c": {conveyor.StatusFailed: 1},
	} {
		if got, _ := x.stageSeries(stage, now); !maps.Equal(got, want) {
			t.Errorf("stage %s: %v, want %v", stage, got, want)
		}
	}
	s, _ := summarize(first)
	x.putFrom(s, first, 0, now, 7) // the submit, indexed late
	if x.has(j.ID) {
		t.Error("a job seen final came back live from its first version")
	}
}

// TestJustMade: only an id made lately may be a job the index has not
// caught up with.
func TestJustMade(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{ulid.MustNew(ulid.Timestamp(now.Add(-time.Second)), ulid.DefaultEntropy()).String(), true},
		{ulid.MustNew(ulid.Timestamp(now.Add(-time.Hour)), ulid.DefaultEntropy()).String(), false},
		{"01NOSUCHJOB", false},
		{"not-an-id", false},
	} {
		if got := justMade(tc.id, now); got != tc.want {
			t.Errorf("justMade(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}
