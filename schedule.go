package conveyor

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is a recurring job: every period (Every) or at the times of a
// cron expression (Cron, in Timezone), one job of Algorithm with Input,
// labelled schedule=<Name>. The broker's message scheduler keeps the time,
// so a schedule fires once per period however many gateways run.
type Schedule struct {
	Name      string          `json:"name"`
	Algorithm string          `json:"algorithm"`
	Input     json.RawMessage `json:"input,omitempty"`
	// Every or Cron (exactly one) say when it fires. Cron takes five
	// fields (minute hour day-of-month month day-of-week), six with
	// seconds first, or @hourly, @daily, @weekly, @monthly, @yearly.
	Every Duration `json:"every,omitempty"`
	Cron  string   `json:"cron,omitempty"`
	// Timezone is the IANA time zone of Cron (default UTC).
	Timezone string            `json:"timezone,omitempty"`
	Priority Priority          `json:"priority,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	// Requires routes its jobs to runners with these labels (see
	// SubmitRequest.Requires).
	Requires Requirements `json:"requires,omitempty"`
	// Overlap says what a firing does while the schedule's previous job
	// is unfinished: OverlapSkip (the default) skips it, OverlapAllow
	// starts another job.
	Overlap string `json:"overlap,omitempty"`
	Paused  bool   `json:"paused"`
	// Tenant is the tenant of the token that made it, if any: its jobs are
	// that tenant's, and other tenants do not see it.
	Tenant string `json:"tenant,omitempty"`
	// Source is "api" for a schedule made over HTTP, "config" for one
	// declared in the configuration (reconciled at every start).
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"created_at"`

	// NextAt is when it fires next (none while paused).
	NextAt *time.Time `json:"next_at,omitempty"`
	// LastAt is when it last fired, LastJob the job it started then (none
	// when that firing was skipped: see LastSkipped).
	LastAt      *time.Time `json:"last_at,omitempty"`
	LastJob     string     `json:"last_job,omitempty"`
	LastSkipped bool       `json:"last_skipped,omitempty"`
	// LastError says why the last firing started no job (its algorithm
	// is gone, its input no longer fits the schema, the queue is full).
	LastError string `json:"last_error,omitempty"`
	// Fired and Skipped count its firings that started a job and those
	// skipped because the previous job was unfinished.
	Fired   int `json:"fired"`
	Skipped int `json:"skipped"`
}

// The values of Schedule.Overlap.
const (
	OverlapSkip  = "skip"
	OverlapAllow = "allow"
)

// ScheduleList is the body of GET /v1/schedules.
type ScheduleList struct {
	Schedules []Schedule `json:"schedules"`
}

var scheduleNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// cronParser reads what Schedule.Cron takes; the broker's scheduler (a
// port of the same parser) reads the six-field form that Pattern gives.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Check validates what a client controls in s and fills in its defaults:
// every problem is a violation with its pointer into s.
func (s *Schedule) Check() error {
	var v []Violation
	bad := func(pointer, format string, args ...any) {
		v = append(v, Violation{Pointer: pointer, Message: fmt.Sprintf(format, args...)})
	}
	if !scheduleNameRE.MatchString(s.Name) {
		bad("/name", "name must match ^[a-z0-9][a-z0-9_-]{0,62}$, not %q", s.Name)
	}
	if s.Algorithm == "" {
		bad("/algorithm", "algorithm is required")
	}
	switch {
	case s.Every != 0 && s.Cron != "":
		bad("/cron", "give every or cron, not both")
	case s.Every == 0 && s.Cron == "":
		bad("/every", "give every (a duration like \"5m\") or cron (like \"0 2 * * *\")")
	case s.Every != 0 && s.Every.Std() < time.Second:
		bad("/every", "every must be at least 1s, not %s", s.Every)
	case s.Every != 0 && s.Timezone != "":
		bad("/timezone", "a timezone applies to cron, not to every")
	case s.Cron != "":
		if _, err := s.cron(); err != nil {
			bad("/cron", "invalid cron %q: %v", s.Cron, err)
		}
	}
	if _, err := ParsePriority(string(s.Priority)); err != nil {
		bad("/priority", "%s", ErrorMessage(err))
	}
	if err := s.Requires.Validate(); err != nil {
		bad("/requires", "%s", strings.TrimPrefix(err.Error(), "requires: "))
	}
	switch s.Overlap {
	case "":
		s.Overlap = OverlapSkip
	case OverlapSkip, OverlapAllow:
	default:
		bad("/overlap", "overlap must be %q or %q, not %q", OverlapSkip, OverlapAllow, s.Overlap)
	}
	if len(s.Input) == 0 || string(s.Input) == "null" {
		s.Input = json.RawMessage(`{}`)
	}
	if len(v) > 0 {
		msg := v[0].Message
		if len(v) > 1 {
			msg = fmt.Sprintf("%s (and %d more)", msg, len(v)-1)
		}
		return &Error{Code: EINVALID, Message: msg, Details: v}
	}
	return nil
}

// cron parses Cron in Timezone.
func (s *Schedule) cron() (cron.Schedule, error) {
	if strings.HasPrefix(s.Cron, "@every") {
		return nil, fmt.Errorf("use every for a fixed period")
	}
	expr := s.Cron
	if s.Timezone != "" {
		if _, err := time.LoadLocation(s.Timezone); err != nil || s.Timezone == "Local" {
			return nil, fmt.Errorf("unknown timezone %q", s.Timezone)
		}
		expr = "CRON_TZ=" + s.Timezone + " " + expr
	}
	return cronParser.Parse(expr)
}

// Pattern is the schedule as the broker's message scheduler takes it: @every
// <duration>, or a cron expression of six fields.
func (s *Schedule) Pattern() string {
	if s.Every != 0 {
		return "@every " + s.Every.Std().String()
	}
	if f := strings.Fields(s.Cron); len(f) == 5 {
		return "0 " + strings.Join(f, " ")
	}
	return strings.TrimSpace(s.Cron)
}

// Next returns when s fires next after t, as the broker's scheduler
// computes it for a schedule set at t.
func (s *Schedule) Next(t time.Time) time.Time {
	if s.Every != 0 {
		return t.UTC().Round(time.Second).Add(s.Every.Std())
	}
	c, err := s.cron()
	if err != nil {
		return time.Time{}
	}
	return c.Next(t).UTC()
}

// SameDefinition reports whether s and o define the same schedule: what
// it runs and when (not its state).
func (s *Schedule) SameDefinition(o *Schedule) bool {
	a, _ := json.Marshal(s.definition())
	b, _ := json.Marshal(o.definition())
	return string(a) == string(b)
}

func (s *Schedule) definition() Schedule {
	return Schedule{Name: s.Name, Algorithm: s.Algorithm, Input: s.Input, Every: s.Every, Cron: s.Cron, Timezone: s.Timezone,
		Priority: s.Priority, Labels: s.Labels, Requires: s.Requires, Overlap: s.Overlap, Tenant: s.Tenant, Source: s.Source}
}
