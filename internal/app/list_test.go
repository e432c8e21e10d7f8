package app

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// list GETs /v1/jobs?query and fails the test unless it answers 200.
func (s *server) list(query string) conveyor.JobPage {
	s.t.Helper()
	var page conveyor.JobPage
	if resp := s.do("GET", "/v1/jobs?"+query, nil, &page); resp.StatusCode != 200 {
		s.t.Fatalf("list ?%s: %d %s", query, resp.StatusCode, readAll(s.t.(*testing.T), resp))
	}
	return page
}

func idsOf(page conveyor.JobPage) []string {
	var ids []string
	for _, j := range page.Jobs {
		ids = append(ids, j.ID)
	}
	return ids
}

// TestListSearch: lists are summaries from the job index, filtered by
// status, labels, time and id, paged either way; bad filters are 400s
// naming the parameter.
func TestListSearch(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	var ok, failed []string
	for i := range 6 {
		req := map[string]any{"algorithm": "wordcount", "input": map[string]any{"text": strings.Repeat("word ", 10), "fail": i%3 == 0},
			"labels": map[string]string{"batch": strconv.Itoa(i % 2), "team": "ml"}, "max_attempts": 1}
		j := s.submit(req, "", 202)
		if i%3 == 0 {
			failed = append(failed, j.ID)
		} else {
			ok = append(ok, j.ID)
		}
		s.wait(j.ID)
	}
	mid := time.Now()
	last := s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}}, "?wait=10s", 200)

	all := s.list("")
	if len(all.Jobs) != 7 || all.Jobs[0].ID != last.ID {
		t.Fatalf("list: %v, want 7 jobs, newest (%s) first", idsOf(all), last.ID)
	}
	for _, j := range all.Jobs {
		if j.Input != nil || j.Output != nil {
			t.Fatalf("a summary with input or output: %+v", j)
		}
	}
	if d := all.Jobs[0].Duration; d == nil || d.Std() <= 0 {
		t.Errorf("a finished job's summary has no duration: %+v", all.Jobs[0])
	}
	if got := s.list("status=failed"); len(got.Jobs) != 2 {
		t.Errorf("status=failed: %v, want %v", idsOf(got), failed)
	}
	if got := s.list("status=failed,succeeded&algorithm=wordcount"); len(got.Jobs) != 6 {
		t.Errorf("status=failed,succeeded&algorithm=wordcount: %d jobs, want 6", len(got.Jobs))
	}
	if got := s.list("label=batch%3D1"); len(got.Jobs) != 3 {
		t.Errorf("label=batch=1: %d jobs, want 3", len(got.Jobs))
	}
	if got := s.list("label=batch%3D0&label=team%3Dml&status=failed"); len(got.Jobs) != 1 || got.Jobs[0].ID != failed[0] {
		t.Errorf("two labels and a status: %v, want [%s]", idsOf(got), failed[0])
	}
	if got := s.list("created_after=" + url.QueryEscape(mid.UTC().Format(time.RFC3339Nano))); len(got.Jobs) != 1 || got.Jobs[0].ID != last.ID {
		t.Errorf("created_after: %v, want [%s]", idsOf(got), last.ID)
	}
	if got := s.list("created_before=" + url.QueryEscape(mid.UTC().Format(time.RFC3339Nano))); len(got.Jobs) != 6 {
		t.Errorf("created_before: %d jobs, want 6", len(got.Jobs))
	}
	if got := s.list("q=" + last.ID[:24]); len(got.Jobs) != 1 || got.Jobs[0].ID != last.ID {
		t.Errorf("q=prefix: %v", idsOf(got))
	}
	with := s.list("limit=1&include=input,output")
	if len(with.Jobs) != 1 || string(with.Jobs[0].Input) != `{"n":7}` || with.Jobs[0].Output == nil {
		t.Errorf("include=input,output: %+v", with.Jobs)
	}
	// Paging, newest and oldest first.
	for _, order := range []string{"", "&order=oldest"} {
		var seen []string
		cursor := ""
		for range 10 {
			page := s.list("limit=2" + order + cursor)
			seen = append(seen, idsOf(page)...)
			if page.NextCursor == "" {
				break
			}
			cursor = "&cursor=" + page.NextCursor
		}
		if len(seen) != 7 {
			t.Errorf("paged%s: %d jobs, want 7", order, len(seen))
		}
		if order != "" && seen[0] != ok[0] && seen[0] != failed[0] {
			t.Errorf("oldest first starts with %s", seen[0])
		}
	}

	for _, c := range []struct{ query, names string }{
		{"labels=a%3Db", "labels"},
		{"status=bogus", "status"},
		{"label=novalue", "label"},
		{"created_after=yesterday", "created_after"},
		{"limit=0", "limit"},
		{"order=random", "order"},
		{"include=logs", "include"},
		{"q=not-an-id!", "q"},
	} {
		resp := s.do("GET", "/v1/jobs?"+c.query, nil, nil)
		if resp.StatusCode != 400 {
			t.Errorf("?%s: %d, want 400", c.query, resp.StatusCode)
			continue
		}
		if p := problem(t, resp); !strings.Contains(p.Detail, c.names) {
			t.Errorf("?%s: %q does not name %s", c.query, p.Detail, c.names)
		}
	}

	var stats struct {
		Algorithms []struct {
			Name   string                  `json:"name"`
			Counts map[conveyor.Status]int `json:"counts"`
		} `json:"algorithms"`
	}
	s.do("GET", "/v1/stats?since=1h", nil, &stats)
	for _, a := range stats.Algorithms {
		if a.Name == "wordcount" && (a.Counts[conveyor.StatusFailed] != 2 || a.Counts[conveyor.StatusSucceeded] != 4) {
			t.Errorf("stats of wordcount: %v", a.Counts)
		}
	}
	if resp := s.do("GET", "/v1/stats?since=soon", nil, nil); resp.StatusCode != 400 {
		t.Errorf("stats?since=soon: %d, want 400", resp.StatusCode)
	}
}

// indexedChanges reads how many job changes the gateway's index took
// since its process started, from /metrics.
func (s *server) indexedChanges() int {
	s.t.Helper()
	resp := s.do("GET", "/metrics", nil, nil)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "conveyor_job_index_changes_total "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				s.t.Fatal(err)
			}
			return int(n)
		}
	}
	s.t.Fatal("no conveyor_job_index_changes_total in /metrics")
	return 0
}

// TestIndexResumes: a restarted gateway takes only the changes made while
// it was down from the broker, not every retained job; a gateway whose
// index file was deleted builds it again from the store, and lists every
// job once it has.
func TestIndexResumes(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	s := startServer(t, cfg)
	const n = 40
	var reqs []conveyor.SubmitRequest
	for i := range n {
		reqs = append(reqs, conveyor.SubmitRequest{Algorithm: "is_prime", Input: []byte(fmt.Sprintf(`{"n":%d}`, 1000+i)), Labels: map[string]string{"run": "first"}})
	}
	var batch conveyor.JobList
	if resp := s.do("POST", "/v1/jobs/batch", conveyor.BatchRequest{Jobs: reqs}, &batch); resp.StatusCode != 202 {
		t.Fatalf("batch: %d", resp.StatusCode)
	}
	for _, j := range batch.Jobs {
		s.wait(j.ID)
	}
	// Finished, the jobs leave the job store (and the memory JetStream
	// keeps per key) for the history, and are read from there.
	st, err := s.app.broker.JetStream().Stream(t.Context(), "KV_"+broker.JobsBucket)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the finished jobs to leave the job store", func() bool {
		info, err := st.Info(t.Context())
		return err == nil && info.State.NumSubjects == 0
	})
	var got conveyor.Job
	if resp := s.do("GET", "/v1/jobs/"+batch.Jobs[0].ID, nil, &got); resp.StatusCode != 200 || got.Status != conveyor.StatusSucceeded || got.Output == nil {
		t.Fatalf("an archived job: %d %+v", resp.StatusCode, got)
	}
	s.app.Stop()

	s = startServer(t, cfg)
	if got := s.indexedChanges(); got > 5 {
		t.Errorf("the restarted gateway took %d job changes from the broker, want none of the %d jobs finished before", got, n)
	}
	if got := s.list("label=run%3Dfirst&limit=500"); len(got.Jobs) != n {
		t.Errorf("after a restart: %d jobs labelled run=first, want %d", len(got.Jobs), n)
	}
	j := s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}}, "?wait=10s", 200)
	if got := s.list("limit=1"); len(got.Jobs) != 1 || got.Jobs[0].ID != j.ID || got.Jobs[0].Status != conveyor.StatusSucceeded {
		t.Errorf("a job run after the restart: %+v", got.Jobs)
	}
	s.app.Stop()

	// The index is lost.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(filepath.Join(dir, "index", "jobs.db"+suffix)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	s = startServer(t, cfg)
	testenv.Eventually(t, "the rebuilt index to list every job", func() bool {
		return len(s.list("limit=500").Jobs) == n+1
	})
	if got := s.indexedChanges(); got < n {
		t.Errorf("the rebuild took %d changes, want at least %d", got, n)
	}
}

// TestArchiveLargeRecord: a finished job whose record is larger than what
// the archiver holds in memory while it waits is read again from the
// store when due, archived whole, and read back from the history.
func TestArchiveLargeRecord(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.History.ArchiveAfter = conveyor.Duration(100 * time.Millisecond)
	s := startServer(t, cfg)
	text := strings.Repeat("word ", 8<<10) // 40 KiB of input
	j := s.submit(map[string]any{"algorithm": "wordcount", "input": map[string]any{"text": text}}, "?wait=10s", 200)
	st, err := s.app.broker.JetStream().Stream(t.Context(), "KV_"+broker.JobsBucket)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the large job to leave the job store", func() bool {
		info, err := st.Info(t.Context())
		return err == nil && info.State.NumSubjects == 0
	})
	var got struct {
		Status conveyor.Status `json:"status"`
		Input  struct {
			Text string `json:"text"`
		} `json:"input"`
	}
	if resp := s.do("GET", "/v1/jobs/"+j.ID, nil, &got); resp.StatusCode != 200 || got.Status != conveyor.StatusSucceeded || got.Input.Text != text {
		t.Fatalf("the archived large job: %d, status %s, %d bytes of input", resp.StatusCode, got.Status, len(got.Input.Text))
	}
}
