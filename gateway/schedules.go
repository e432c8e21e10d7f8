package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

// Recurring schedules: the definitions and state live in the broker (see
// broker/schedules.go), the time is kept by the broker's message
// scheduler, and every gateway serves firings from one shared consumer —
// each firing reaches one gateway, which starts its job (or skips it, with
// overlap skip, while the previous one is unfinished).

// scheduleCAS bounds the compare-and-swap tries of a schedule's update.
const scheduleCAS = 10

// errDuplicateFiring is a second firing of one period whose job is gone
// already (finished and archived): nothing to do.
var errDuplicateFiring = errors.New("a second firing of one period")

// unknownGrace is how long a firing whose algorithm no runner announced
// is handed over again before it is given up (recorded as the schedule's
// last error): the runners may be starting.
const unknownGrace = time.Minute

// handleCreateSchedule is POST /v1/schedules.
func (g *Gateway) handleCreateSchedule(w http.ResponseWriter, r *http.Request) {
	var s conveyor.Schedule
	if err := g.decodeBody(w, r, &s); err != nil {
		g.writeError(w, r, err)
		return
	}
	// State is the broker's to keep, not the client's to set.
	s = conveyor.Schedule{Name: s.Name, Algorithm: s.Algorithm, Input: s.Input, Every: s.Every, Cron: s.Cron, Timezone: s.Timezone,
		Priority: s.Priority, Labels: s.Labels, Requires: s.Requires, Overlap: s.Overlap, Paused: s.Paused, Source: "api", CreatedAt: time.Now().UTC()}
	if tenant, all := tenantOf(r.Context()); !all {
		s.Tenant = tenant
	}
	if err := s.Check(); err != nil {
		g.writeError(w, r, err)
		return
	}
	if err := mayUse(r.Context(), s.Algorithm); err != nil {
		g.writeError(w, r, err)
		return
	}
	// Its jobs must be ones a submit would take.
	if _, err := g.newJob(scheduledRequest(&s)); err != nil {
		g.writeError(w, r, scheduleJobError(err))
		return
	}
	// The files it references are there now (they expire after the
	// retention: a later firing's job fails naming a file gone).
	if err := g.checkRequestFiles(r.Context(), s.Input); err != nil {
		g.writeError(w, r, scheduleJobError(err))
		return
	}
	if !s.Paused {
		next := s.Next(s.CreatedAt)
		s.NextAt = &next
	}
	ctx := context.WithoutCancel(r.Context())
	if _, err := g.b.PutSchedule(ctx, &s, 0); err != nil {
		g.writeError(w, r, err)
		return
	}
	if !s.Paused {
		if err := g.b.Arm(ctx, &s); err != nil {
			_ = g.b.DeleteSchedule(ctx, s.Name)
			g.writeError(w, r, err)
			return
		}
	}
	w.Header().Set("Location", "/v1/schedules/"+s.Name)
	writeJSON(w, http.StatusCreated, s)
}

// scheduleJobError is err, a refusal of a schedule's job, as a refusal of
// the schedule: an unknown algorithm is the request's fault (400), and
// the input's violations point into the schedule's input.
func scheduleJobError(err error) error {
	var ce *conveyor.Error
	if !errors.As(err, &ce) {
		return err
	}
	out := &conveyor.Error{Code: ce.Code, Message: ce.Message, Err: ce.Err}
	if ce.Code == conveyor.ENOTFOUND {
		out.Code = conveyor.EINVALID
		out.Details = []conveyor.Violation{{Pointer: "/algorithm", Message: ce.Message}}
		return out
	}
	for _, v := range ce.Details {
		out.Details = append(out.Details, conveyor.Violation{Pointer: "/input" + v.Pointer, Message: v.Message})
	}
	return out
}

// scheduledRequest is the submit that a firing of s makes.
func scheduledRequest(s *conveyor.Schedule) conveyor.SubmitRequest {
	labels := make(map[string]string, len(s.Labels)+1)
	for k, v := range s.Labels {
		labels[k] = v
	}
	labels["schedule"] = s.Name
	return conveyor.SubmitRequest{Algorithm: s.Algorithm, Input: s.Input, Priority: s.Priority, Labels: labels, Requires: s.Requires}
}

// handleSchedules is GET /v1/schedules: the schedules the request's tenant
// may see, by name.
func (g *Gateway) handleSchedules(w http.ResponseWriter, r *http.Request) {
	all, err := g.b.Schedules(r.Context())
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	out := conveyor.ScheduleList{Schedules: []conveyor.Schedule{}}
	for _, s := range all {
		if scheduleVisible(r.Context(), &s) == nil {
			out.Schedules = append(out.Schedules, s)
		}
	}
	slices.SortFunc(out.Schedules, func(a, b conveyor.Schedule) int {
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
	writeJSON(w, http.StatusOK, out)
}

// scheduleVisible returns ENOTFOUND for a schedule of another tenant than
// the request's.
func scheduleVisible(ctx context.Context, s *conveyor.Schedule) error {
	if tenant, all := tenantOf(ctx); !all && s.Tenant != tenant {
		return conveyor.Errorf(conveyor.ENOTFOUND, "schedule %q not found", s.Name)
	}
	return nil
}

// getSchedule reads the schedule the request names, if the request's
// tenant may see it.
func (g *Gateway) getSchedule(r *http.Request) (*conveyor.Schedule, uint64, error) {
	s, rev, err := g.b.GetSchedule(r.Context(), r.PathValue("name"))
	if err == nil {
		err = scheduleVisible(r.Context(), s)
	}
	return s, rev, err
}

// handleSchedule is GET /v1/schedules/{name}.
func (g *Gateway) handleSchedule(w http.ResponseWriter, r *http.Request) {
	s, _, err := g.getSchedule(r)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

// handleDeleteSchedule is DELETE /v1/schedules/{name}: it fires no more;
// the jobs it started stay.
func (g *Gateway) handleDeleteSchedule(w http.ResponseWriter, r *http.Request) {
	s, _, err := g.getSchedule(r)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	if err := g.b.DeleteSchedule(context.WithoutCancel(r.Context()), s.Name); err != nil {
		g.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handlePauseSchedule is POST /v1/schedules/{name}/pause and, with
// pause false, …/resume. Resuming an @every schedule counts its period
// from then.
func (g *Gateway) handlePauseSchedule(pause bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, _, err := g.getSchedule(r); err != nil {
			g.writeError(w, r, err)
			return
		}
		ctx := context.WithoutCancel(r.Context())
		s, err := g.updateSchedule(ctx, r.PathValue("name"), func(s *conveyor.Schedule) error {
			s.Paused, s.NextAt = pause, nil
			if !pause {
				next := s.Next(time.Now())
				s.NextAt = &next
			}
			return nil
		})
		if err == nil {
			if pause {
				err = g.b.Disarm(ctx, s.Name)
			} else {
				err = g.b.Arm(ctx, s)
			}
		}
		if err != nil {
			g.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, s)
	}
}

// handleTriggerSchedule is POST /v1/schedules/{name}/trigger: one job of
// the schedule now, whatever its overlap (and paused or not) → 202 with
// the job.
func (g *Gateway) handleTriggerSchedule(w http.ResponseWriter, r *http.Request) {
	s, _, err := g.getSchedule(r)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	if err := mayUse(r.Context(), s.Algorithm); err != nil {
		g.writeError(w, r, err)
		return
	}
	j, err := g.fire(context.WithoutCancel(r.Context()), s.Name, broker.Firing{At: time.Now()}, true)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/jobs/"+j.ID)
	g.writeJob(w, r, http.StatusAccepted, j)
}

// updateSchedule applies change to schedule name by compare-and-swap and
// returns it as written.
func (g *Gateway) updateSchedule(ctx context.Context, name string, change func(*conveyor.Schedule) error) (*conveyor.Schedule, error) {
	for range scheduleCAS {
		s, rev, err := g.b.GetSchedule(ctx, name)
		if err != nil {
			return nil, err
		}
		if err := change(s); err != nil {
			return nil, err
		}
		if _, err := g.b.PutSchedule(ctx, s, rev); conveyor.ErrorCode(err) != conveyor.ECONFLICT {
			return s, err
		}
	}
	return nil, conveyor.Errorf(conveyor.EUNAVAILABLE, "schedule %s: too many concurrent changes", name)
}

// serveFiring starts the job of one firing of the broker's scheduler, or
// lines up a delayed job with a mutex key that came due.
func (g *Gateway) serveFiring(ctx context.Context, f broker.Firing) error {
	if id, ok := strings.CutPrefix(f.Schedule, broker.DueMutexPrefix); ok {
		return g.dueMutexJob(ctx, id)
	}
	_, err := g.fire(ctx, f.Schedule, f, false)
	switch conveyor.ErrorCode(err) {
	case "", conveyor.ENOTFOUND: // done, or the schedule is gone
		return nil
	case conveyor.EINVALID, conveyor.EUNAVAILABLE:
		if ctx.Err() == nil && conveyor.ErrorCode(err) == conveyor.EUNAVAILABLE {
			return err // the broker is away: hand the firing over again
		}
		return nil // recorded on the schedule as its last error
	}
	return err
}

// fire starts the job of a firing of schedule name: a firing of the
// broker's scheduler (f.Seq names it, and makes its job's id, so that a
// firing handed over twice starts one job), or a trigger (manual). A
// firing of a paused schedule, or while its last job is unfinished with
// overlap skip, starts none. It records the firing on the schedule.
func (g *Gateway) fire(ctx context.Context, name string, f broker.Firing, manual bool) (*conveyor.Job, error) {
	s, _, err := g.b.GetSchedule(ctx, name)
	if err != nil {
		return nil, err
	}
	if !manual && s.Paused {
		return nil, nil
	}
	skip := false
	if !manual && s.Overlap != conveyor.OverlapAllow && s.LastJob != "" {
		last, _, err := g.b.GetJob(ctx, s.LastJob)
		switch {
		case err == nil:
			skip = !last.Status.Terminal()
		case conveyor.ErrorCode(err) != conveyor.ENOTFOUND: // archived: final
			return nil, err
		}
	}
	var j *conveyor.Job
	var jobErr error
	if !skip {
		j, jobErr = g.scheduledJob(ctx, s, f, manual)
		switch {
		case errors.Is(jobErr, errDuplicateFiring):
			return nil, nil
		case conveyor.ErrorCode(jobErr) == conveyor.EUNAVAILABLE:
			return nil, jobErr
		case conveyor.ErrorCode(jobErr) == conveyor.ENOTFOUND && !manual && time.Since(f.At) < unknownGrace:
			// Its runner may not have announced the algorithm yet (all
			// were down, and this is the firing of a period missed).
			return nil, conveyor.Errorf(conveyor.EUNAVAILABLE, "schedule %s: %s", name, conveyor.ErrorMessage(jobErr))
		}
	}
	_, err = g.updateSchedule(ctx, name, func(s *conveyor.Schedule) error {
		if !manual {
			at := f.At.UTC()
			s.LastAt = &at
			if !f.Next.IsZero() && !s.Paused {
				next := f.Next.UTC()
				s.NextAt = &next
			}
		}
		s.LastSkipped = skip
		switch {
		case skip:
			s.Skipped++
		case jobErr != nil:
			s.LastError = conveyor.ErrorMessage(jobErr)
		case s.LastJob != j.ID:
			s.LastJob, s.LastError = j.ID, ""
			s.Fired++
		}
		return nil
	})
	if err != nil {
		return j, err
	}
	if jobErr != nil {
		g.log.Warn("schedule firing: job refused", "schedule", name, "err", jobErr)
	}
	return j, jobErr
}

// scheduledJob makes and queues the job of a firing of s. A firing's job
// has an id made from the firing, so that a firing served twice finds its
// job made and only makes sure it is queued.
func (g *Gateway) scheduledJob(ctx context.Context, s *conveyor.Schedule, f broker.Firing, manual bool) (*conveyor.Job, error) {
	j, err := g.newJob(scheduledRequest(s))
	if err != nil {
		return nil, err
	}
	j.Tenant = s.Tenant
	if err := g.mayTake(ctx, j.Tenant, 1); err != nil {
		return nil, err
	}
	if !manual {
		sum := sha256.Sum256(binary.BigEndian.AppendUint64([]byte(s.Name+"\x00"), f.Seq))
		id, err := ulid.New(ulid.Timestamp(f.At), bytes.NewReader(sum[:]))
		if err != nil {
			return nil, err
		}
		// The job was made when the broker fired, however late a gateway
		// serves the firing (after a failover, say).
		j.ID, j.CreatedAt = id.String(), f.At.UTC()
		// One job per period: the broker's scheduler may fire a period
		// twice as its stream changes leader (seen on a 3-node cluster:
		// three firings within 5 ms after a kill -9 of the leader). The
		// firings of one period name the same next firing.
		if !f.Next.IsZero() {
			key := "schedule\x00" + s.Name + "\x00" + f.Next.UTC().Round(time.Second).Format(time.RFC3339)
			bound, _, claimed, err := g.b.ClaimIdempotencyKey(ctx, s.Tenant, key, j.ID, "")
			if err != nil {
				return nil, err
			}
			if !claimed {
				made, _, err := g.b.GetJob(ctx, bound)
				if conveyor.ErrorCode(err) == conveyor.ENOTFOUND {
					return nil, errDuplicateFiring
				}
				return made, err
			}
		}
	}
	if _, err := broker.StoreInput(ctx, g.b, j); err != nil {
		return nil, err
	}
	stored, err := g.b.CreateJob(ctx, j)
	if err != nil {
		g.dropPayloads(ctx, j) // not this job's, or no job
	}
	if conveyor.ErrorCode(err) == conveyor.ECONFLICT {
		made, rev, err := g.b.GetJob(ctx, j.ID)
		if err != nil || made.Status != conveyor.StatusQueued || made.Attempt > 0 {
			return made, err
		}
		// Made, and perhaps not queued: queue it (again — the queue
		// drops a copy of a message it has).
		return made, g.b.EnqueueJob(ctx, made, rev)
	}
	if err != nil {
		return nil, err
	}
	if err := g.b.Enqueue(ctx, stored); err != nil {
		g.undo(ctx, j.ID)
		g.dropPayloads(ctx, j)
		return nil, err
	}
	g.jobs.hear(j.ID)
	g.cfg.Metrics.Submitted.WithLabelValues(j.Algorithm).Inc()
	return j, nil
}

// dueMutexJob marks the delayed job id, which has a mutex key, queued, its
// time having come, and puts it in the line of its key. Done twice (the
// firing handed over again), it changes nothing.
func (g *Gateway) dueMutexJob(ctx context.Context, id string) error {
	j, rev, err := g.b.UpdateJob(ctx, id, nil, 0, (*conveyor.Job).Due)
	switch {
	case conveyor.ErrorCode(err) == conveyor.ENOTFOUND:
		return nil // deleted meanwhile
	case conveyor.ErrorCode(err) == conveyor.ECONFLICT && j != nil && j.Status == conveyor.StatusQueued && j.Attempt == 0:
		// Marked queued already: line it up (again).
	case conveyor.ErrorCode(err) == conveyor.ECONFLICT:
		return nil // canceled, or past its turn
	case err != nil:
		return err
	}
	s, err := broker.StoredJob(j, rev)
	if err != nil {
		return err
	}
	return g.b.JoinMutex(ctx, s)
}

// reconcileSchedules makes the broker's schedules of source "config" those
// of the configuration, and arms every schedule that should be armed and
// is not (its gateway stopped between storing and arming it). Several
// gateways may do it at once: each change is a compare-and-swap.
func (g *Gateway) reconcileSchedules(ctx context.Context) error {
	have, err := g.b.Schedules(ctx)
	if err != nil {
		return err
	}
	byName := map[string]*conveyor.Schedule{}
	for i := range have {
		byName[have[i].Name] = &have[i]
	}
	wanted := map[string]bool{}
	for _, want := range g.cfg.Schedules {
		want := want
		wanted[want.Name] = true
		cur, ok := byName[want.Name]
		switch {
		case !ok:
			want.CreatedAt = time.Now().UTC()
			if !want.Paused {
				next := want.Next(want.CreatedAt)
				want.NextAt = &next
			}
			if _, err := g.b.PutSchedule(ctx, &want, 0); err != nil && conveyor.ErrorCode(err) != conveyor.ECONFLICT {
				return err
			}
			byName[want.Name] = &want
		case !cur.SameDefinition(&want) || cur.Paused != want.Paused:
			s, err := g.updateSchedule(ctx, want.Name, func(s *conveyor.Schedule) error {
				state := *s
				*s = want
				s.CreatedAt, s.LastAt, s.LastJob, s.LastSkipped, s.Fired, s.Skipped, s.LastError =
					state.CreatedAt, state.LastAt, state.LastJob, state.LastSkipped, state.Fired, state.Skipped, state.LastError
				s.NextAt = nil
				if !s.Paused {
					next := s.Next(time.Now())
					s.NextAt = &next
				}
				return nil
			})
			if err != nil {
				return err
			}
			if err := g.b.Disarm(ctx, s.Name); err != nil { // armed anew below
				return err
			}
			byName[want.Name] = s
		}
	}
	for name, s := range byName {
		if s.Source == "config" && !wanted[name] {
			if err := g.b.DeleteSchedule(ctx, name); err != nil {
				return err
			}
			continue
		}
		if s.Paused {
			continue
		}
		armed, err := g.b.Armed(ctx, name)
		if err != nil {
			return err
		}
		if !armed {
			if err := g.b.Arm(ctx, s); err != nil {
				return err
			}
		}
	}
	return nil
}
