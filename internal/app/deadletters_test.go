package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// as sends a request with token (none if empty) and a JSON body (none if
// empty), decodes a JSON answer into out (if not nil) and returns the
// response with its body read.
func (s *server) as(token, method, path, body string, out any) *http.Response {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			s.t.Fatalf("%s %s: %d %s: decode: %v", method, path, resp.StatusCode, data, err)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return resp
}

// failing submits a job that fails at once (sleep with fail, one
// attempt) with labels, and returns it once failed.
func (s *server) failing(token string, labels map[string]string) *conveyor.Job {
	s.t.Helper()
	body, _ := json.Marshal(map[string]any{"algorithm": "sleep", "input": map[string]any{"seconds": 0, "fail": "boom"},
		"max_attempts": 1, "priority": "high", "labels": labels})
	var j conveyor.Job
	if resp := s.as(token, "POST", "/v1/jobs?wait=10s", string(body), &j); resp.StatusCode != 200 || j.Status != conveyor.StatusFailed {
		s.t.Fatalf("a failing job: %d %s", resp.StatusCode, readAll(s.t.(*testing.T), resp))
	}
	return &j
}

// count POSTs a bulk action and returns its count, failing the test
// unless it answers 200.
func (s *server) count(token, path, filter string) int {
	s.t.Helper()
	var c conveyor.Count
	if resp := s.as(token, "POST", path, filter, &c); resp.StatusCode != 200 {
		s.t.Fatalf("POST %s %s: %d %s", path, filter, resp.StatusCode, readAll(s.t.(*testing.T), resp))
	}
	return c.Count
}

// TestRetryJob: POST /v1/jobs/{id}/retry makes a new job of a final one,
// with its algorithm, input, priority and labels and retry_of naming it;
// a live job is 409, an unknown one 404. Lists show retry_of.
func TestRetryJob(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	old := s.failing("", map[string]string{"team": "ml"})

	var j conveyor.Job
	resp := s.as("", "POST", "/v1/jobs/"+old.ID+"/retry", "", &j)
	if resp.StatusCode != 202 || resp.Header.Get("Location") != "/v1/jobs/"+j.ID {
		t.Fatalf("retry: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if j.ID == old.ID || j.RetryOf != old.ID || j.Algorithm != "sleep" || string(j.Input) != string(old.Input) ||
		j.Priority != conveyor.PriorityHigh || j.Labels["team"] != "ml" || j.MaxAttempts != 1 || j.Status != conveyor.StatusQueued {
		t.Fatalf("the retry %+v of %+v", j, old)
	}
	if done := s.wait(j.ID); done.Status != conveyor.StatusFailed || done.RetryOf != old.ID {
		t.Fatalf("the retry ran to %+v", done)
	}
	if got := s.list("q=" + j.ID); len(got.Jobs) != 1 || got.Jobs[0].RetryOf != old.ID {
		t.Errorf("the retry's summary: %+v", got.Jobs)
	}
	// The retried job is as it was.
	var again conveyor.Job
	s.do("GET", "/v1/jobs/"+old.ID, nil, &again)
	if again.Status != conveyor.StatusFailed || again.RetryOf != "" {
		t.Errorf("the retried job: %+v", again)
	}

	live := s.submit(map[string]any{"algorithm": "sleep", "input": map[string]any{"seconds": 30}}, "", 202)
	if resp := s.as("", "POST", "/v1/jobs/"+live.ID+"/retry", "", nil); resp.StatusCode != 409 {
		t.Errorf("retry of a live job: %d, want 409", resp.StatusCode)
	}
	s.do("POST", "/v1/jobs/"+live.ID+"/cancel", nil, nil)
	if resp := s.as("", "POST", "/v1/jobs/01J0000000000000000000000/retry", "", nil); resp.StatusCode != 404 {
		t.Errorf("retry of an unknown job: %d, want 404", resp.StatusCode)
	}
}

// TestBulkRetryCancel: POST /v1/jobs/retry and /v1/jobs/cancel act on
// every job their filter matches, and say how many; retry only final
// jobs (failed and canceled by default), cancel only live ones. Bad
// filters are 400s naming the field.
func TestBulkRetryCancel(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	var teamA []string
	for range 3 {
		teamA = append(teamA, s.failing("", map[string]string{"team": "a"}).ID)
	}
	s.failing("", map[string]string{"team": "b"})
	mid := time.Now().UTC()
	s.failing("", map[string]string{"team": "b"})
	s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 7}}, "?wait=10s", 200)

	if n := s.count("", "/v1/jobs/retry", `{"labels":{"team":"a"}}`); n != 3 {
		t.Errorf("retry team=a: %d, want 3", n)
	}
	page := s.list("label=team%3Da&status=queued,running,failed&limit=100")
	var retries []string
	for _, j := range page.Jobs {
		if j.RetryOf != "" {
			retries = append(retries, j.RetryOf)
		}
	}
	slices.Sort(retries)
	slices.Sort(teamA)
	if !slices.Equal(retries, teamA) {
		t.Errorf("retries of %v, want of %v", retries, teamA)
	}
	if n := s.count("", "/v1/jobs/retry", `{"algorithm":"sleep","labels":{"team":"b"},"created_before":"`+mid.Format(time.RFC3339Nano)+`"}`); n != 1 {
		t.Errorf("retry team=b created before: %d, want 1", n)
	}
	if n := s.count("", "/v1/jobs/retry", `{"algorithm":"is_prime"}`); n != 0 {
		t.Errorf("retry of succeeded jobs by default: %d, want 0", n)
	}
	if n := s.count("", "/v1/jobs/retry", `{"algorithm":"is_prime","status":["succeeded"]}`); n != 1 {
		t.Errorf("retry status=succeeded: %d, want 1", n)
	}

	var long []string
	for range 6 {
		long = append(long, s.submit(map[string]any{"algorithm": "sleep", "input": map[string]any{"seconds": 60}, "labels": map[string]string{"batch": "long"}}, "", 202).ID)
	}
	queued := s.count("", "/v1/jobs/cancel", `{"labels":{"batch":"long"},"status":"queued","created_after":"`+mid.Format(time.RFC3339Nano)+`"}`)
	if queued < 2 {
		// 4 workers: at least 2 of the 6 wait in the queue.
		t.Errorf("cancel the queued: %d, want at least 2", queued)
	}
	if n := s.count("", "/v1/jobs/cancel", `{"labels":{"batch":"long"}}`); queued+n != len(long) {
		t.Errorf("cancel the rest: %d after %d, want %d in all", n, queued, len(long))
	}
	for _, id := range long {
		if j := s.wait(id); j.Status != conveyor.StatusCanceled {
			t.Errorf("job %s: %s, want canceled", id, j.Status)
		}
	}
	if n := s.count("", "/v1/jobs/cancel", `{"labels":{"batch":"long"}}`); n != 0 {
		t.Errorf("cancel again: %d, want 0", n)
	}
	if n := s.count("", "/v1/jobs/retry", `{"labels":{"batch":"long"},"status":["canceled"]}`); n != 6 {
		t.Errorf("retry the canceled: %d, want 6", n)
	}
	s.count("", "/v1/jobs/cancel", `{"labels":{"batch":"long"}}`)

	for _, c := range []struct{ path, body, names string }{
		{"/v1/jobs/retry", `{"algorithm":"sleep","bogus":1}`, "bogus"},
		{"/v1/jobs/retry", `{"status":["done"]}`, "status"},
		{"/v1/jobs/retry", `{"status":["queued"]}`, "status"},
		{"/v1/jobs/cancel", `{"status":["failed"]}`, "status"},
		{"/v1/jobs/retry", `{"status":7}`, "status"},
		{"/v1/jobs/retry", `{"created_after":"yesterday"}`, "created_after"},
		{"/v1/jobs/cancel", `{"created_before":"2026-13-01"}`, "created_before"},
		{"/v1/jobs/retry", `{"labels":"team=a"}`, "labels"},
		{"/v1/jobs/retry", `{"algorithm":"Not A Name"}`, "algorithm"},
		{"/v1/jobs/cancel", `{"algorithm":["sleep"]}`, "algorithm"},
		{"/v1/jobs/retry", ``, "empty"},
		{"/v1/jobs/retry", `{} {}`, "after"},
	} {
		resp := s.as("", "POST", c.path, c.body, nil)
		if resp.StatusCode != 400 {
			t.Errorf("POST %s %s: %d, want 400", c.path, c.body, resp.StatusCode)
			continue
		}
		if p := problem(t, resp); !strings.Contains(p.Detail, c.names) {
			t.Errorf("POST %s %s: %q does not name %s", c.path, c.body, p.Detail, c.names)
		}
	}
}

// TestDeadLettersTenants: retry, bulk retry and cancel and delete act on
// the jobs of the token's tenant only (another tenant's job is 404) and
// need their scopes: submit to retry, cancel to cancel or delete.
func TestDeadLettersTenants(t *testing.T) {
	for k, v := range map[string]string{"T_ACME": "acme", "T_GLOBEX": "globex", "T_ADMIN": "admin", "T_READ": "reader", "T_SUB": "submitter"} {
		t.Setenv(k, v)
	}
	cfg := testConfig(t, t.TempDir())
	cfg.Auth.Tokens = []config.Token{
		{Name: "acme", TokenEnv: "T_ACME", Scopes: []string{"submit", "read", "cancel"}, Tenant: "acme"},
		{Name: "globex", TokenEnv: "T_GLOBEX", Scopes: []string{"submit", "read", "cancel"}, Tenant: "globex"},
		{Name: "submitter", TokenEnv: "T_SUB", Scopes: []string{"submit", "read"}, Tenant: "acme"},
		{Name: "reader", TokenEnv: "T_READ", Scopes: []string{"read"}, Tenant: "acme"},
		{Name: "ops", TokenEnv: "T_ADMIN", Scopes: []string{"admin"}},
	}
	s := startServer(t, cfg)
	a1 := s.failing("acme", nil)
	s.failing("acme", nil)
	g1 := s.failing("globex", nil)

	var j conveyor.Job
	if resp := s.as("acme", "POST", "/v1/jobs/"+a1.ID+"/retry", "", &j); resp.StatusCode != 202 || j.Tenant != "acme" {
		t.Fatalf("acme retries its job: %d, tenant %q", resp.StatusCode, j.Tenant)
	}
	testenv.Eventually(t, "the retry to fail", func() bool {
		var got conveyor.Job
		s.as("acme", "GET", "/v1/jobs/"+j.ID+"?wait=5s", "", &got)
		return got.Status == conveyor.StatusFailed
	})
	for _, c := range []struct {
		token, method, path, body string
		want                      int
	}{
		{"acme", "POST", "/v1/jobs/" + g1.ID + "/retry", "", 404},
		{"acme", "DELETE", "/v1/jobs/" + g1.ID, "", 404},
		{"reader", "POST", "/v1/jobs/" + a1.ID + "/retry", "", 403},
		{"reader", "POST", "/v1/jobs/retry", "{}", 403},
		{"reader", "DELETE", "/v1/jobs/" + a1.ID, "", 403},
		{"submitter", "POST", "/v1/jobs/cancel", "{}", 403},
		{"submitter", "DELETE", "/v1/jobs/" + a1.ID, "", 403},
		{"", "POST", "/v1/jobs/retry", "{}", 401},
	} {
		if resp := s.as(c.token, c.method, c.path, c.body, nil); resp.StatusCode != c.want {
			t.Errorf("%s %s %s: %d, want %d", c.token, c.method, c.path, resp.StatusCode, c.want)
		}
	}
	// acme has 3 failed jobs (two and a retry), globex 1.
	if n := s.count("globex", "/v1/jobs/retry", `{"algorithm":"sleep"}`); n != 1 {
		t.Errorf("globex bulk retry: %d, want 1", n)
	}
	if n := s.count("submitter", "/v1/jobs/retry", `{"status":["failed"],"created_before":"`+time.Now().UTC().Format(time.RFC3339Nano)+`"}`); n != 3 {
		t.Errorf("acme bulk retry: %d, want 3", n)
	}
	// Every retry runs and fails; then the admin retries every tenant's.
	testenv.Eventually(t, "the retries to fail", func() bool {
		var page conveyor.JobPage
		s.as("admin", "GET", "/v1/jobs?status=queued,running", "", &page)
		return len(page.Jobs) == 0
	})
	var page conveyor.JobPage
	s.as("admin", "GET", "/v1/jobs?status=failed&limit=100", "", &page)
	if n := s.count("admin", "/v1/jobs/retry", `{}`); n != len(page.Jobs) || n != 8 {
		t.Errorf("admin bulk retry: %d, want every failed job (%d, 8)", n, len(page.Jobs))
	}
	// Bulk cancel: each tenant its own.
	for _, tok := range []string{"acme", "acme", "globex"} {
		body, _ := json.Marshal(map[string]any{"algorithm": "sleep", "input": map[string]any{"seconds": 60}, "labels": map[string]string{"c": "1"}})
		if resp := s.as(tok, "POST", "/v1/jobs", string(body), nil); resp.StatusCode != 202 {
			t.Fatalf("submit: %d", resp.StatusCode)
		}
	}
	if n := s.count("acme", "/v1/jobs/cancel", `{"labels":{"c":"1"}}`); n != 2 {
		t.Errorf("acme bulk cancel: %d, want 2", n)
	}
	if n := s.count("admin", "/v1/jobs/cancel", `{}`); n < 1 {
		t.Errorf("admin bulk cancel: %d, want globex's and the retries still live", n)
	}
}

// historyHolds reports whether the history stream holds a record of job
// id (a deletion marker is no record).
func historyHolds(t *testing.T, js jetstream.JetStream, id string) bool {
	t.Helper()
	st, err := js.Stream(t.Context(), broker.HistoryStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && seq > 0; seq++ {
		m, err := st.GetMsg(t.Context(), seq)
		if err != nil {
			continue
		}
		if m.Header.Get("Conveyor-Job") == id && len(m.Data) > 0 {
			return true
		}
	}
	return false
}

// TestDeleteJob: DELETE /v1/jobs/{id} removes a final job — in the store
// or archived — with its log: GET is 404 after, lists leave it out, the
// broker holds nothing of it. A live job is 409, an unknown one 404.
func TestDeleteJob(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.History.ArchiveAfter = conveyor.Duration(time.Second)
	s := startServer(t, cfg)
	js := s.app.broker.JetStream()
	run := func() *conveyor.Job {
		j := s.submit(map[string]any{"algorithm": "wordcount", "input": map[string]any{"text": "a b c"}, "labels": map[string]string{"del": "1"}}, "?wait=10s", 200)
		var logs conveyor.LogList
		s.do("GET", "/v1/jobs/"+j.ID+"/logs", nil, &logs)
		if len(logs.Logs) == 0 {
			t.Fatalf("job %s has no logs", j.ID)
		}
		return j
	}
	gone := func(id string) {
		t.Helper()
		for _, path := range []string{"/v1/jobs/" + id, "/v1/jobs/" + id + "/logs"} {
			if resp := s.do("GET", path, nil, nil); resp.StatusCode != 404 {
				t.Errorf("GET %s after the delete: %d, want 404", path, resp.StatusCode)
			}
		}
		if got := s.list("label=del%3D1&limit=100"); slices.Contains(idsOf(got), id) {
			t.Errorf("the list still shows %s", id)
		}
		lst, err := js.Stream(t.Context(), broker.LogStream)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lst.GetLastMsgForSubject(t.Context(), broker.LogSubject(id)); err == nil {
			t.Errorf("the log of %s is still stored", id)
		}
		if historyHolds(t, js, id) {
			t.Errorf("the history still holds %s", id)
		}
		if _, _, err := s.app.broker.GetJobRecord(t.Context(), id); conveyor.ErrorCode(err) != conveyor.ENOTFOUND {
			t.Errorf("the store still holds %s: %v", id, err)
		}
	}

	// Just finished: its record is in the store.
	fresh := run()
	if resp := s.do("DELETE", "/v1/jobs/"+fresh.ID, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("delete: %d %s", resp.StatusCode, readAll(t, resp))
	}
	gone(fresh.ID)

	// Archived: its record is in the history.
	old := run()
	kv, err := js.Stream(t.Context(), "KV_"+broker.JobsBucket)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the job to be archived", func() bool {
		info, err := kv.Info(t.Context())
		return err == nil && info.State.NumSubjects == 0 && historyHolds(t, js, old.ID)
	})
	if resp := s.do("DELETE", "/v1/jobs/"+old.ID, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("delete an archived job: %d %s", resp.StatusCode, readAll(t, resp))
	}
	gone(old.ID)
	if resp := s.do("DELETE", "/v1/jobs/"+old.ID, nil, nil); resp.StatusCode != 404 {
		t.Errorf("delete again: %d, want 404", resp.StatusCode)
	}
	if resp := s.do("POST", "/v1/jobs/"+old.ID+"/retry", nil, nil); resp.StatusCode != 404 {
		t.Errorf("retry a deleted job: %d, want 404", resp.StatusCode)
	}

	live := s.submit(map[string]any{"algorithm": "sleep", "input": map[string]any{"seconds": 30}}, "", 202)
	if resp := s.do("DELETE", "/v1/jobs/"+live.ID, nil, nil); resp.StatusCode != 409 {
		t.Errorf("delete a live job: %d, want 409", resp.StatusCode)
	}
	s.do("POST", "/v1/jobs/"+live.ID+"/cancel", nil, nil)
	if resp := s.do("DELETE", "/v1/jobs/"+live.ID, nil, nil); resp.StatusCode != 204 {
		t.Errorf("delete the job canceled: %d, want 204", resp.StatusCode)
	}
	if resp := s.do("DELETE", "/v1/jobs/01J0000000000000000000000", nil, nil); resp.StatusCode != 404 {
		t.Errorf("delete an unknown job: %d, want 404", resp.StatusCode)
	}
	// The counts follow.
	var stats struct {
		Algorithms []struct {
			Name   string                  `json:"name"`
			Counts map[conveyor.Status]int `json:"counts"`
		} `json:"algorithms"`
	}
	s.do("GET", "/v1/stats?since=1h", nil, &stats)
	for _, a := range stats.Algorithms {
		if a.Name == "wordcount" && a.Counts[conveyor.StatusSucceeded] != 0 {
			t.Errorf("stats of wordcount after deleting every job: %v", a.Counts)
		}
	}
}

// TestDeleteTwoGateways: a delete made through one gateway reaches the
// job index of another, running or stopped at the time (it resumes from
// its cursor and finds the deletion).
func TestDeleteTwoGateways(t *testing.T) {
	natsAddr := testenv.FreeAddr(t)
	cfg := testConfig(t, t.TempDir())
	cfg.Broker.Listen = natsAddr
	cfg.History.ArchiveAfter = conveyor.Duration(500 * time.Millisecond)
	s1 := startServer(t, cfg)

	cfg2 := cfg
	cfg2.DataDir = t.TempDir() // each gateway keeps its own job index
	cfg2.Broker.Listen = ""
	cfg2.NATS.URL = "nats://" + natsAddr
	start2 := func() *server {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		a2, err := StartRoles(ctx, cfg2, RoleGateway, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a2.Stop)
		return &server{t: t, app: a2, base: "http://" + a2.Addr()}
	}
	s2 := start2()
	var ids []string
	for i := range 4 {
		ids = append(ids, s1.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": i}, "labels": map[string]string{"two": "1"}}, "?wait=10s", 200).ID)
	}
	lists := func(s *server, id string) bool { return slices.Contains(idsOf(s.list("label=two%3D1")), id) }
	for _, id := range ids {
		testenv.Eventually(t, "gateway 2 to list "+id, func() bool { return lists(s2, id) })
	}
	// Deleted through gateway 1, fresh; through gateway 2, archived.
	if resp := s1.do("DELETE", "/v1/jobs/"+ids[0], nil, nil); resp.StatusCode != 204 {
		t.Fatalf("delete through gateway 1: %d", resp.StatusCode)
	}
	testenv.Eventually(t, "gateway 2 to forget "+ids[0], func() bool { return !lists(s2, ids[0]) })
	if resp := s2.do("GET", "/v1/jobs/"+ids[0], nil, nil); resp.StatusCode != 404 {
		t.Errorf("gateway 2 GET of a deleted job: %d, want 404", resp.StatusCode)
	}
	testenv.Eventually(t, "the jobs to be archived", func() bool {
		return historyHolds(t, s1.app.broker.JetStream(), ids[1])
	})
	if resp := s2.do("DELETE", "/v1/jobs/"+ids[1], nil, nil); resp.StatusCode != 204 {
		t.Fatalf("delete through gateway 2: %d", resp.StatusCode)
	}
	testenv.Eventually(t, "gateway 1 to forget "+ids[1], func() bool { return !lists(s1, ids[1]) })
	if resp := s1.do("GET", "/v1/jobs/"+ids[1], nil, nil); resp.StatusCode != 404 {
		t.Errorf("gateway 1 GET of a deleted job: %d, want 404", resp.StatusCode)
	}

	// Gateway 2 is down while a job is deleted; back, it has forgotten it.
	s2.app.Stop()
	if resp := s1.do("DELETE", "/v1/jobs/"+ids[2], nil, nil); resp.StatusCode != 204 {
		t.Fatalf("delete while gateway 2 is down: %d", resp.StatusCode)
	}
	s2 = start2()
	testenv.Eventually(t, "the restarted gateway 2 to forget "+ids[2], func() bool { return !lists(s2, ids[2]) })
	if !lists(s2, ids[3]) {
		t.Errorf("the restarted gateway 2 lost %s, which was not deleted", ids[3])
	}

	// Gateway 2 loses its index and builds it again from the broker's
	// feeds, whose queue still holds the deleted jobs' first messages:
	// the deletion markers keep them out.
	s2.app.Stop()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(filepath.Join(cfg2.DataDir, "index", "jobs.db"+suffix)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	s2 = start2()
	testenv.Eventually(t, "the rebuilt index to list "+ids[3], func() bool { return lists(s2, ids[3]) })
	testenv.Eventually(t, "gateway 2 ready", func() bool { return s2.do("GET", "/readyz", nil, nil).StatusCode == 200 })
	for _, id := range ids[:3] {
		if lists(s2, id) {
			t.Errorf("the rebuilt index lists %s, which was deleted", id)
		}
		if resp := s2.do("GET", "/v1/jobs/"+id, nil, nil); resp.StatusCode != 404 {
			t.Errorf("GET %s from the rebuilt gateway: %d, want 404", id, resp.StatusCode)
		}
	}
}
