package conveyor

import (
	"encoding/json"
	"fmt"
	"slices"
)

// DefaultMaxSteps bounds how many stages one pipeline job may run, counting
// each stage every time it runs, unless its pipeline says otherwise. A
// pipeline whose stages loop (a stage naming an earlier one as next) fails
// when it reaches the limit instead of running forever.
const DefaultMaxSteps = 100

// Pipeline is the definition a pipeline job runs, copied from its algorithm
// when the job is submitted, so a change of configuration does not move the
// ground under jobs already queued.
type Pipeline struct {
	// Stages are the algorithms the job runs, in order unless a stage
	// names the next one.
	Stages []string `json:"stages"`
	// MaxSteps bounds the stages the job may run in all.
	MaxSteps int `json:"max_steps"`
}

// Stage is where a pipeline job is: the algorithm it runs now, its place in
// the pipeline, and how many stages ran before it.
type Stage struct {
	Name  string `json:"name"`
	Index int    `json:"index"`
	// Of is how many stages the pipeline declares.
	Of int `json:"of"`
	// Step counts the stages run before this one: 0 for the first.
	Step int `json:"step"`
	// Input is the input of this stage — the previous stage's output. The
	// first stage's input is the job's own input, and then Input is empty.
	Input json.RawMessage `json:"input,omitempty"`
	// InputRef, when set, stands for an Input too large for the record
	// (see PayloadRef): Input is empty.
	InputRef *PayloadRef `json:"input_ref,omitempty"`
}

// Percent turns percent done within the stage into percent done of the
// whole pipeline, counting the declared stages as equal shares.
func (s *Stage) Percent(within float64) float64 {
	if s.Of <= 0 {
		return within
	}
	return (float64(s.Index)*100 + within) / float64(s.Of)
}

// Prefix returns msg, said of the stage, with where the stage is in its
// pipeline: "stage <name> (<n> of <stages>): msg". Failures on both the
// queued and the synchronous path are reported so.
func (s *Stage) Prefix(msg string) string {
	return fmt.Sprintf("stage %s (%d of %d): %s", s.Name, s.Index+1, s.Of, msg)
}

// Route is where a pipeline job goes after a stage: by default on to the
// next stage in the pipeline, or to the end after the last one.
type Route struct {
	// Final ends the job now: the stage's output is the job's output.
	Final bool `json:"final,omitempty"`
	// Next names the stage to run next, one the pipeline declares.
	Next string `json:"next,omitempty"`
}

// Routed is an output that also says where the job goes next. Go handlers
// return it, made by Final or Next, to steer a pipeline; outside a pipeline
// only its Output counts.
type Routed struct {
	Output any
	Route  Route
}

// Final returns output as the final output of the whole pipeline job, so no
// further stage runs.
func Final(output any) Routed { return Routed{Output: output, Route: Route{Final: true}} }

// Next returns output as the input of the named stage, which runs next
// instead of the one that follows in the pipeline.
func Next(stage string, output any) Routed {
	return Routed{Output: output, Route: Route{Next: stage}}
}

// StageAlgorithm is the algorithm whose queue and runners the job needs
// now: the current stage of a pipeline job, or its own algorithm.
func (j *Job) StageAlgorithm() string {
	if j.Stage != nil {
		return j.Stage.Name
	}
	return j.Algorithm
}

// Step is how many stages of its pipeline the job ran before the one it
// is in (Stage.Step): 0 for the first, and for a job of no pipeline.
func (j *Job) Step() int {
	if j.Stage == nil {
		return 0
	}
	return j.Stage.Step
}

// StageInput is the input of the job's current stage.
func (j *Job) StageInput() json.RawMessage {
	if j.Stage != nil && len(j.Stage.Input) > 0 {
		return j.Stage.Input
	}
	return j.Input
}

// EnterPipeline makes a new job start at the first stage of p.
func (j *Job) EnterPipeline(p Pipeline) {
	if p.MaxSteps <= 0 {
		p.MaxSteps = DefaultMaxSteps
	}
	j.Pipeline = &p
	j.Stage = p.First()
}

// Finishes reports whether route after the current stage ends the job:
// it is final, or the last stage has run and no next stage is named. A job
// that is not a pipeline always finishes after its attempt.
func (j *Job) Finishes(route Route) bool {
	return j.Pipeline == nil || j.Stage == nil || j.Pipeline.Ends(j.Stage, route)
}

// Advance records that attempt of the current stage produced output and
// moves the job, queued, to the stage route leads to, with output as that
// stage's input and the attempts counted afresh. It returns EINVALID when
// route names a stage the pipeline does not have, EFAILED when the job has
// run its maximum number of steps — the caller then fails the job with that
// error — and ECONFLICT when attempt is not the job's running attempt.
func (j *Job) Advance(attempt int, output json.RawMessage, route Route) error {
	if err := j.checkAttempt(attempt, StatusQueued); err != nil {
		return err
	}
	if j.Pipeline == nil || j.Stage == nil {
		return Errorf(EINVALID, "job %s is not a pipeline job", j.ID)
	}
	next, err := j.Pipeline.After(j.Stage, route, output)
	if err != nil {
		return err
	}
	j.Stage = next
	j.Progress = &Progress{Percent: next.Percent(0), Message: next.Name}
	j.Status = StatusQueued
	j.Attempt = 0
	j.Error = nil
	j.RetryAt = nil
	return nil
}

// First returns the first stage of p, whose input is the job's input.
func (p *Pipeline) First() *Stage { return &Stage{Name: p.Stages[0], Of: len(p.Stages)} }

// After returns the stage that route leads to after stage s, with output
// as its input. It returns EINVALID when route names a stage p does not
// have or there is no stage after s, and EFAILED when the job would run
// more than p.MaxSteps stages.
func (p *Pipeline) After(s *Stage, route Route, output json.RawMessage) (*Stage, error) {
	next := s.Index + 1
	if route.Next != "" {
		if next = slices.Index(p.Stages, route.Next); next < 0 {
			return nil, Errorf(EINVALID, "stage %s named %s as the next stage, which the pipeline does not have (stages: %v)", s.Name, route.Next, p.Stages)
		}
	}
	if next >= len(p.Stages) {
		return nil, Errorf(EINVALID, "no stage after the last one")
	}
	maxSteps := p.MaxSteps
	if maxSteps <= 0 {
		maxSteps = DefaultMaxSteps
	}
	if s.Step+1 >= maxSteps {
		return nil, Errorf(EFAILED, "the pipeline reached its limit of %d steps", maxSteps)
	}
	return &Stage{Name: p.Stages[next], Index: next, Of: len(p.Stages), Step: s.Step + 1, Input: output}, nil
}

// Ends reports whether route after stage s ends a job of p: it is final,
// or s is the last stage and route names no next one.
func (p *Pipeline) Ends(s *Stage, route Route) bool {
	return route.Final || route.Next == "" && s.Index == len(p.Stages)-1
}

// StageError names the stage of a pipeline job in err's message.
func (j *Job) StageError(err *JobError) *JobError {
	if j.Stage == nil || err == nil {
		return err
	}
	e := *err
	e.Message = j.Stage.Prefix(e.Message)
	return &e
}
