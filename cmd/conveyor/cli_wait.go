package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/client"
)

var waitCommand = &command{
	name: "wait", args: "ID", summary: "wait for a job to finish",
	help: `Wait until the job ID has finished, then print it like "status". While
waiting, show its progress on stderr: a progress bar on a terminal, otherwise
a line whenever its status or progress changes.

Exit status: 0 if the job succeeded, 1 if it failed or was canceled, 3 if it
had not finished after --timeout (it goes on), 130 if interrupted.`,
	run: cmdWait,
}

func cmdWait(ctx context.Context, e *env, cmd *command, args []string) error {
	fs := cmd.flagSet(e)
	cf := e.addClientFlags(fs)
	var timeout durationFlag
	fs.Var(&timeout, "timeout", "give up after `D`, like 30s or 5m (default: wait as long as it takes)")
	pos, err := parseArgs(fs, args, 1, 1, "job ID")
	if err != nil {
		return err
	}
	c, err := e.client(cf)
	if err != nil {
		return err
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout.Std())
	}
	return e.await(ctx, c, cf, pos[0], nil, timeout.Std(), deadline)
}

// await waits for the job id, whose last known state is job (nil if none),
// until it is final or deadline (zero: none) passes, showing its progress
// on stderr. It then prints the job and returns nil if it succeeded, or an
// *exitError with the exit status that tells how it ended. limit is the
// duration that deadline stands for, for messages.
func (e *env) await(ctx context.Context, c *client.Client, cf *clientFlags, id string, job *conveyor.Job, limit time.Duration, deadline time.Time) error {
	if job == nil || !job.Status.Terminal() {
		view := e.newProgressView()
		if job != nil {
			view.update(job)
		}
		var d time.Duration
		if !deadline.IsZero() {
			d = max(time.Until(deadline), time.Nanosecond)
		}
		last, err := c.Wait(ctx, id, d, client.PollInterval(e.waitPoll), client.OnUpdate(view.update))
		view.close()
		if last != nil {
			job = last
		}
		switch {
		case errors.Is(err, client.ErrWaitTimeout):
			if err := e.showJob(cf, job); err != nil {
				return err
			}
			return &exitError{exitTimeout, fmt.Errorf("timed out after %s: job %s is still %s", limit, id, job.Status)}
		case err != nil && ctx.Err() != nil:
			return &exitError{exitInterrupted, fmt.Errorf("interrupted; job %s goes on (wait again with: conveyor wait %s)", id, id)}
		case err != nil:
			return err
		}
	}
	if err := e.showJob(cf, job); err != nil {
		return err
	}
	if job.Status == conveyor.StatusSucceeded {
		return nil
	}
	msg := fmt.Sprintf("job %s %s", job.ID, job.Status)
	switch {
	case job.Error == nil:
	case job.Error.Type == string(job.Status): // "canceled: canceled: …"
		msg += ": " + job.Error.Message
	default:
		msg += ": " + fmtJobError(job.Error)
	}
	return &exitError{exitFailed, errors.New(msg)}
}

// progressView shows the progress of a job being waited for: on a terminal a
// single line redrawn in place, otherwise a line per change.
type progressView struct {
	w     io.Writer
	tty   bool
	width int    // columns of the terminal
	last  string // the line last shown
	drawn int    // runes of the bar now on screen
}

func (e *env) newProgressView() *progressView {
	width := 80
	if n, err := strconv.Atoi(e.getenv("COLUMNS")); err == nil && n >= 20 {
		width = n
	}
	return &progressView{w: e.stderr, tty: e.stderrTTY, width: width}
}

// update shows j, if it changed what is shown.
func (p *progressView) update(j *conveyor.Job) {
	if !p.tty {
		if line := stateText(j) + progressText(j); line != p.last {
			fmt.Fprintln(p.w, line)
			p.last = line
		}
		return
	}
	line := truncate(barLine(j), p.width-1)
	if line == p.last {
		return
	}
	n := utf8.RuneCountInString(line)
	fmt.Fprint(p.w, "\r"+line+strings.Repeat(" ", max(p.drawn-n, 0)))
	p.last, p.drawn = line, n
}

// close erases the bar, if there is one.
func (p *progressView) close() {
	if p.tty && p.drawn > 0 {
		fmt.Fprint(p.w, "\r"+strings.Repeat(" ", p.drawn)+"\r")
		p.drawn = 0
	}
}

// stateText describes where j is: "queued", "queued for retry 2/3 after
// error: boom", "running", "running attempt 2/3", "succeeded".
func stateText(j *conveyor.Job) string {
	switch {
	case j.Status == conveyor.StatusQueued && j.Attempt > 0:
		s := fmt.Sprintf("queued for retry %d/%d", j.Attempt+1, j.MaxAttempts)
		if j.Error != nil {
			s += " after " + fmtJobError(j.Error)
		}
		return s
	case j.Status == conveyor.StatusRunning && j.Attempt > 1:
		return fmt.Sprintf("running attempt %d/%d", j.Attempt, j.MaxAttempts)
	}
	return string(j.Status)
}

// progressText is " 42% message" for a running job that reported progress.
func progressText(j *conveyor.Job) string {
	if j.Status != conveyor.StatusRunning || j.Progress == nil {
		return ""
	}
	return strings.TrimRight(" "+fmtPercent(j.Progress.Percent)+" "+j.Progress.Message, " ")
}

// barLine is the progress bar of j:
// "[#########...........]  45% running: loading model".
func barLine(j *conveyor.Job) string {
	const width = 20
	var pct float64
	var pctText, msg string
	if j.Progress != nil && j.Status == conveyor.StatusRunning {
		pct = min(max(j.Progress.Percent, 0), 100)
		pctText, msg = fmtPercent(j.Progress.Percent), j.Progress.Message
	}
	if j.Status == conveyor.StatusSucceeded {
		pct, pctText = 100, "100%"
	}
	filled := int(pct/100*width + 0.5)
	line := fmt.Sprintf("[%s%s] %5s %s", strings.Repeat("#", filled), strings.Repeat(".", width-filled), pctText, stateText(j))
	if msg != "" {
		line += ": " + msg
	}
	return line
}
