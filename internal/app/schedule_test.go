package app

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testenv"
)

// scheduleJobs lists the jobs a schedule started, oldest first.
func (s *server) scheduleJobs(name string) []*conveyor.JobSummary {
	s.t.Helper()
	var page conveyor.JobPage
	if resp := s.do("GET", "/v1/jobs?label=schedule="+name+"&order=oldest&limit=100", nil, &page); resp.StatusCode != 200 {
		s.t.Fatalf("list the jobs of schedule %s: %d", name, resp.StatusCode)
	}
	return page.Jobs
}

func (s *server) schedule(name string) conveyor.Schedule {
	s.t.Helper()
	var sc conveyor.Schedule
	if resp := s.do("GET", "/v1/schedules/"+name, nil, &sc); resp.StatusCode != 200 {
		s.t.Fatalf("GET schedule %s: %d", name, resp.StatusCode)
	}
	return sc
}

// TestScheduleEvery: an every-second schedule made over HTTP starts one
// job a second, labelled with its name, and shows its last and next
// firings; paused it starts none, resumed it starts again; trigger starts
// one at once; deleted it is gone.
func TestScheduleEvery(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	var sc conveyor.Schedule
	resp := s.do("POST", "/v1/schedules", `{"name":"tick","algorithm":"is_prime","input":{"n":7},"every":"1s","labels":{"team":"ml"}}`, &sc)
	if resp.StatusCode != 201 || sc.Name != "tick" || sc.NextAt == nil || sc.Overlap != conveyor.OverlapSkip || sc.Source != "api" {
		t.Fatalf("create: %d %+v", resp.StatusCode, sc)
	}
	testenv.Eventually(t, "three jobs of the schedule", func() bool { return len(s.scheduleJobs("tick")) >= 3 })
	jobs := s.scheduleJobs("tick")
	for i := 1; i < len(jobs); i++ {
		if gap := jobs[i].CreatedAt.Sub(jobs[i-1].CreatedAt); gap < 700*time.Millisecond {
			t.Errorf("jobs %d and %d of an every-1s schedule %v apart", i-1, i, gap)
		}
	}
	got := s.schedule("tick")
	if got.LastAt == nil || got.LastJob == "" || got.NextAt == nil || !got.NextAt.After(*got.LastAt) || got.Fired < 3 {
		t.Errorf("schedule state after firings: %+v", got)
	}
	var j conveyor.Job
	s.do("GET", "/v1/jobs/"+jobs[0].ID, nil, &j)
	if j.Labels["schedule"] != "tick" || j.Labels["team"] != "ml" || !strings.Contains(string(j.Input), `"n":7`) {
		t.Errorf("a job of the schedule: labels %v, input %s", j.Labels, j.Input)
	}

	var paused conveyor.Schedule
	if resp := s.do("POST", "/v1/schedules/tick/pause", nil, &paused); resp.StatusCode != 200 || !paused.Paused || paused.NextAt != nil {
		t.Fatalf("pause: %d %+v", resp.StatusCode, paused)
	}
	time.Sleep(500 * time.Millisecond) // a firing made before the pause may land
	n := len(s.scheduleJobs("tick"))
	time.Sleep(2500 * time.Millisecond)
	if m := len(s.scheduleJobs("tick")); m != n {
		t.Errorf("a paused schedule started %d jobs in 2.5s", m-n)
	}
	var trig conveyor.Job
	if resp := s.do("POST", "/v1/schedules/tick/trigger", nil, &trig); resp.StatusCode != 202 || trig.Labels["schedule"] != "tick" {
		t.Fatalf("trigger: %d %+v", resp.StatusCode, trig)
	}
	if done := s.wait(trig.ID); done.Status != conveyor.StatusSucceeded {
		t.Errorf("the triggered job ended %s", done.Status)
	}
	var resumed conveyor.Schedule
	if resp := s.do("POST", "/v1/schedules/tick/resume", nil, &resumed); resp.StatusCode != 200 || resumed.Paused || resumed.NextAt == nil {
		t.Fatalf("resume: %d %+v", resp.StatusCode, resumed)
	}
	n = len(s.scheduleJobs("tick"))
	testenv.Eventually(t, "a job after resume", func() bool { return len(s.scheduleJobs("tick")) > n })

	var list conveyor.ScheduleList
	s.do("GET", "/v1/schedules", nil, &list)
	if len(list.Schedules) != 1 || list.Schedules[0].Name != "tick" {
		t.Errorf("list: %+v", list)
	}
	if resp := s.do("DELETE", "/v1/schedules/tick", nil, nil); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if resp := s.do("GET", "/v1/schedules/tick", nil, nil); resp.StatusCode != 404 {
		t.Errorf("GET a deleted schedule: %d, want 404", resp.StatusCode)
	}
	time.Sleep(500 * time.Millisecond)
	n = len(s.scheduleJobs("tick"))
	time.Sleep(2 * time.Second)
	if m := len(s.scheduleJobs("tick")); m != n {
		t.Errorf("a deleted schedule started %d jobs", m-n)
	}
}

// TestScheduleOverlapSkip: while the last job of a schedule with overlap
// skip runs, its firings start nothing; with allow, they overlap.
func TestScheduleOverlapSkip(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.do("POST", "/v1/schedules", `{"name":"slow","algorithm":"sleep","input":{"seconds":2.5},"every":"1s"}`, nil)
	testenv.Eventually(t, "a skipped firing", func() bool { return s.schedule("slow").Skipped >= 1 })
	s.do("DELETE", "/v1/schedules/slow", nil, nil)
	jobs := s.scheduleJobs("slow")
	for _, a := range jobs {
		var ja conveyor.Job
		s.do("GET", "/v1/jobs/"+a.ID, nil, &ja)
		if ja.StartedAt == nil {
			continue
		}
		for _, b := range jobs {
			var jb conveyor.Job
			s.do("GET", "/v1/jobs/"+b.ID, nil, &jb)
			if a.ID != b.ID && jb.StartedAt != nil && jb.StartedAt.After(*ja.StartedAt) && ja.FinishedAt != nil && jb.StartedAt.Before(*ja.FinishedAt) {
				t.Errorf("jobs %s and %s of an overlap-skip schedule ran at once", a.ID, b.ID)
			}
		}
	}

	s.do("POST", "/v1/schedules", `{"name":"many","algorithm":"sleep","input":{"seconds":2.5},"every":"1s","overlap":"allow"}`, nil)
	testenv.Eventually(t, "two jobs of an overlap-allow schedule running at once", func() bool {
		running := 0
		for _, j := range s.scheduleJobs("many") {
			if j.Status == conveyor.StatusRunning {
				running++
			}
		}
		return running >= 2
	})
}

// TestScheduleBadInput: invalid schedules are 400s naming what is wrong,
// and make nothing.
func TestScheduleBadInput(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	for _, c := range []struct{ body, pointer string }{
		{`{"name":"a","algorithm":"is_prime","input":{"n":7},"cron":"61 * * * *"}`, "/cron"},
		{`{"name":"a","algorithm":"is_prime","input":{"n":7},"cron":"every day"}`, "/cron"},
		{`{"name":"a","algorithm":"is_prime","input":{"n":7},"cron":"0 2 * * *","timezone":"Mars/Olympus"}`, "/cron"},
		{`{"name":"a","algorithm":"is_prime","input":{"n":7},"every":"1s","cron":"0 2 * * *"}`, "/cron"},
		{`{"name":"a","algorithm":"is_prime","input":{"n":7}}`, "/every"},
		{`{"name":"a","algorithm":"is_prime","input":{"n":7},"every":"100ms"}`, "/every"},
		{`{"name":"a","algorithm":"no_such","input":{"n":7},"every":"1m"}`, "/algorithm"},
		{`{"name":"a","algorithm":"is_prime","input":{"n":"seven"},"every":"1m"}`, "/input/n"},
		{`{"name":"A b","algorithm":"is_prime","input":{"n":7},"every":"1m"}`, "/name"},
		{`{"name":"a","algorithm":"is_prime","input":{"n":7},"every":"1m","overlap":"sometimes"}`, "/overlap"},
	} {
		resp := s.do("POST", "/v1/schedules", c.body, nil)
		if resp.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", c.body, resp.StatusCode)
			continue
		}
		p := problem(t, resp)
		if !slices.ContainsFunc(p.Errors, func(v conveyor.Violation) bool { return v.Pointer == c.pointer }) {
			t.Errorf("%s: %+v, want a violation at %s", c.body, p, c.pointer)
		}
	}
	var list conveyor.ScheduleList
	s.do("GET", "/v1/schedules", nil, &list)
	if len(list.Schedules) != 0 {
		t.Errorf("refused schedules were made: %+v", list.Schedules)
	}
	ok := `{"name":"nightly","algorithm":"is_prime","input":{"n":7},"cron":"0 2 * * *","timezone":"Europe/Paris"}`
	var sc conveyor.Schedule
	if resp := s.do("POST", "/v1/schedules", ok, &sc); resp.StatusCode != 201 {
		t.Fatalf("a nightly cron schedule: %d", resp.StatusCode)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	if at := sc.NextAt.In(paris); at.Hour() != 2 || at.Minute() != 0 || time.Until(at) > 24*time.Hour {
		t.Errorf("next firing of 0 2 * * * in Paris: %v", at)
	}
	if resp := s.do("POST", "/v1/schedules", ok, nil); resp.StatusCode != 409 {
		t.Errorf("a second schedule of the same name: %d, want 409", resp.StatusCode)
	}
}

// TestScheduleFromConfig: schedules declared in the configuration are made
// at start, changed when the configuration changes (keeping their state),
// and removed when it drops them; those made over HTTP stay.
func TestScheduleFromConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.Schedules = []config.Schedule{
		{Name: "nightly", Algorithm: "is_prime", Input: map[string]any{"n": 7}, Cron: "0 2 * * *"},
		{Name: "often", Algorithm: "is_prime", Input: map[string]any{"n": 9}, Every: conveyor.Duration(time.Second)},
	}
	s := startServer(t, cfg)
	if sc := s.schedule("nightly"); sc.Source != "config" || sc.Cron != "0 2 * * *" || sc.NextAt == nil {
		t.Errorf("nightly from config: %+v", sc)
	}
	testenv.Eventually(t, "a job of the configured every-1s schedule", func() bool { return len(s.scheduleJobs("often")) > 0 })
	s.do("POST", "/v1/schedules", `{"name":"mine","algorithm":"is_prime","input":{"n":7},"every":"1h"}`, nil)
	s.app.Stop()

	cfg.Schedules = []config.Schedule{{Name: "nightly", Algorithm: "is_prime", Input: map[string]any{"n": 7}, Cron: "30 3 * * *"}}
	s = startServer(t, cfg)
	if sc := s.schedule("nightly"); sc.Cron != "30 3 * * *" {
		t.Errorf("nightly after a config change: %+v", sc)
	}
	if resp := s.do("GET", "/v1/schedules/often", nil, nil); resp.StatusCode != 404 {
		t.Errorf("a schedule the config dropped: %d, want 404", resp.StatusCode)
	}
	if sc := s.schedule("mine"); sc.Source != "api" {
		t.Errorf("a schedule made over HTTP after a restart: %+v", sc)
	}
}

// TestScheduleTenants: a schedule belongs to the tenant of the token that
// made it — its jobs are that tenant's, other tenants neither see nor
// touch it — and changing one needs the submit scope.
func TestScheduleTenants(t *testing.T) {
	for k, v := range map[string]string{"T_ACME": "acme", "T_GLOBEX": "globex", "T_READ": "reader"} {
		t.Setenv(k, v)
	}
	cfg := testConfig(t, t.TempDir())
	cfg.Auth.Tokens = []config.Token{
		{Name: "acme", TokenEnv: "T_ACME", Scopes: []string{"submit", "read", "cancel"}, Tenant: "acme"},
		{Name: "globex", TokenEnv: "T_GLOBEX", Scopes: []string{"submit", "read", "cancel"}, Tenant: "globex"},
		{Name: "reader", TokenEnv: "T_READ", Scopes: []string{"read"}, Tenant: "acme"},
	}
	s := startServer(t, cfg)
	var sc conveyor.Schedule
	if resp := s.as("acme", "POST", "/v1/schedules", `{"name":"mine","algorithm":"is_prime","input":{"n":7},"every":"1h"}`, &sc); resp.StatusCode != 201 || sc.Tenant != "acme" {
		t.Fatalf("acme makes a schedule: %d %+v", resp.StatusCode, sc)
	}
	var j conveyor.Job
	if resp := s.as("acme", "POST", "/v1/schedules/mine/trigger", "", &j); resp.StatusCode != 202 || j.Tenant != "acme" {
		t.Fatalf("acme triggers it: %d, job tenant %q", resp.StatusCode, j.Tenant)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/schedules/mine"}, {"POST", "/v1/schedules/mine/pause"}, {"POST", "/v1/schedules/mine/trigger"}, {"DELETE", "/v1/schedules/mine"},
	} {
		if resp := s.as("globex", c.method, c.path, "", nil); resp.StatusCode != 404 {
			t.Errorf("globex %s %s: %d, want 404", c.method, c.path, resp.StatusCode)
		}
	}
	var list conveyor.ScheduleList
	if s.as("globex", "GET", "/v1/schedules", "", &list); len(list.Schedules) != 0 {
		t.Errorf("globex lists %+v", list.Schedules)
	}
	if s.as("reader", "GET", "/v1/schedules", "", &list); len(list.Schedules) != 1 {
		t.Errorf("acme's reader lists %+v", list.Schedules)
	}
	if resp := s.as("reader", "POST", "/v1/schedules/mine/pause", "", nil); resp.StatusCode != 403 {
		t.Errorf("a read-only token pauses: %d, want 403", resp.StatusCode)
	}
	if resp := s.as("reader", "POST", "/v1/schedules", `{"name":"x","algorithm":"is_prime","every":"1h"}`, nil); resp.StatusCode != 403 {
		t.Errorf("a read-only token makes a schedule: %d, want 403", resp.StatusCode)
	}
}
