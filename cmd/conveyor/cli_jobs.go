package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/client"
)

// This file holds the commands that read or change one job, and jobs.

var statusCommand = &command{
	name: "status", args: "ID", summary: "show a job",
	help: `Show the job ID: its status, attempts, progress and timings, then its
output or its error. The exit status is 0 whatever the job's status; use
"conveyor wait" to act on how a job ended.`,
	run: cmdStatus,
}

func cmdStatus(ctx context.Context, e *env, cmd *command, args []string) error {
	fs := cmd.flagSet(e)
	cf := e.addClientFlags(fs)
	pos, err := parseArgs(fs, args, 1, 1, "job ID")
	if err != nil {
		return err
	}
	c, err := e.client(cf)
	if err != nil {
		return err
	}
	job, err := c.Get(ctx, pos[0])
	if err != nil {
		return err
	}
	return e.showJob(cf, job)
}

var cancelCommand = &command{
	name: "cancel", args: "[ID]", summary: "cancel a job, or every one that matches",
	help: `Cancel the job ID. A queued job never runs; a running one is stopped.
Canceling a job that has already finished is an error.

Without ID, cancel every unfinished job that the flags match, and print how
many:

  conveyor cancel --algorithm resize --status queued

At least one flag is needed: "conveyor cancel" alone cancels nothing.`,
	run: cmdCancel,
}

func cmdCancel(ctx context.Context, e *env, cmd *command, args []string) error {
	fs := cmd.flagSet(e)
	cf := e.addClientFlags(fs)
	ff := addFilterFlags(fs, "queued or running; default both")
	pos, err := parseArgs(fs, args, 0, 1, "job ID")
	if err != nil {
		return err
	}
	f, set, err := ff.filter(e.now())
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 1 && set:
		return usagef("give a job ID or filter flags, not both")
	case len(pos) == 0 && !set:
		return usagef("missing job ID, or filter flags (--algorithm, --status, …) to cancel every job they match")
	case len(pos) == 0:
		return cmdCancelMatching(ctx, e, cf, f)
	}
	c, err := e.client(cf)
	if err != nil {
		return err
	}
	job, err := c.Cancel(ctx, pos[0])
	if err != nil {
		return err
	}
	return e.showJob(cf, job)
}

// showJob prints job as JSON or for people.
func (e *env) showJob(cf *clientFlags, job *conveyor.Job) error {
	if cf.json {
		return printJSON(e.stdout, job)
	}
	e.printJob(e.stdout, job)
	return nil
}

var jobsCommand = &command{
	name: "jobs", summary: "list and search jobs, newest first",
	help: `List jobs, newest first, one page at a time, filtered by algorithm,
status, labels and creation time. When there are more, the flag that fetches
the next page is printed on stderr. Times are RFC 3339 or a duration back
from now: --since 1h lists the jobs created in the last hour.`,
	run: cmdJobs,
}

func cmdJobs(ctx context.Context, e *env, cmd *command, args []string) error {
	fs := cmd.flagSet(e)
	cf := e.addClientFlags(fs)
	var opts client.ListOptions
	ff := addFilterFlags(fs, "scheduled, queued, running, succeeded, failed or canceled")
	fs.StringVar(&opts.Tenant, "tenant", "", "only jobs of `TENANT` (admin tokens)")
	fs.BoolVar(&opts.Oldest, "oldest", false, "oldest first")
	fs.IntVar(&opts.Limit, "limit", 0, "at most `N` jobs (default: the server's page size)")
	fs.StringVar(&opts.Cursor, "cursor", "", "start at `CURSOR`, from a previous page")
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	f, _, err := ff.filter(e.now())
	if err != nil {
		return err
	}
	opts.Algorithm, opts.Statuses, opts.Labels = f.Algorithm, f.Status, f.Labels
	if f.CreatedAfter != nil {
		opts.CreatedAfter = *f.CreatedAfter
	}
	if f.CreatedBefore != nil {
		opts.CreatedBefore = *f.CreatedBefore
	}
	if opts.Limit < 0 {
		return usagef("--limit: must not be negative")
	}
	c, err := e.client(cf)
	if err != nil {
		return err
	}
	list, err := c.List(ctx, opts)
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(e.stdout, list)
	}
	e.printJobs(e.stdout, list.Jobs)
	if list.NextCursor != "" {
		fmt.Fprintf(e.stderr, "more: --cursor %s\n", list.NextCursor)
	}
	return nil
}

// printJobs writes jobs as a table.
func (e *env) printJobs(w io.Writer, jobs []*conveyor.JobSummary) {
	if len(jobs) == 0 {
		fmt.Fprintln(w, "No jobs.")
		return
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tALGORITHM\tSTATUS\tATTEMPT\tPROGRESS\tCREATED\tDURATION\tLABELS")
	for _, j := range jobs {
		progress, duration, labels := "-", "-", "-"
		if j.Progress != nil {
			progress = fmtPercent(j.Progress.Percent)
		}
		if j.StartedAt != nil {
			end := e.now()
			if j.FinishedAt != nil {
				end = *j.FinishedAt
			}
			duration = fmtDuration(end.Sub(*j.StartedAt))
		}
		if len(j.Labels) > 0 {
			labels = fmtLabels(j.Labels)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\t%s\n", j.ID, j.Algorithm, j.Status,
			j.Attempt, j.MaxAttempts, progress, e.fmtTime(j.CreatedAt), duration, labels)
	}
	tw.Flush()
}

var logsCommand = &command{
	name: "logs", args: "ID", summary: "print a job's log (-f: follow it)",
	help: `Print the log lines of the job ID, oldest first: the time, the stream
(stdout, stderr, or log for lines the algorithm logged; "#2" marks lines of a
second attempt) and the line. With -f, keep printing new lines until the job
has finished. With --json, print the log list, or with -f one JSON object per
line.`,
	run: cmdLogs,
}

func cmdLogs(ctx context.Context, e *env, cmd *command, args []string) error {
	fs := cmd.flagSet(e)
	cf := e.addClientFlags(fs)
	var follow bool
	fs.BoolVar(&follow, "f", false, "follow: print new lines until the job has finished")
	fs.BoolVar(&follow, "follow", false, "same as -f")
	pos, err := parseArgs(fs, args, 1, 1, "job ID")
	if err != nil {
		return err
	}
	c, err := e.client(cf)
	if err != nil {
		return err
	}
	id := pos[0]
	if !follow {
		list, err := c.Logs(ctx, id)
		if err != nil {
			return err
		}
		if cf.json {
			return printJSON(e.stdout, list)
		}
		for _, l := range list.Logs {
			e.printLogLine(l)
		}
		return nil
	}
	return e.followLogs(ctx, c, cf, id)
}

// followLogs prints the job's log lines as they come, from its event
// stream, until the job is final.
func (e *env) followLogs(ctx context.Context, c *client.Client, cf *clientFlags, id string) error {
	enc := json.NewEncoder(e.stdout)
	for ev, err := range c.Events(ctx, id, "") {
		if err != nil {
			return err
		}
		if ev.Type != "log" {
			continue
		}
		var l conveyor.LogLine
		if err := json.Unmarshal(ev.Data, &l); err != nil {
			return err
		}
		if cf.json {
			if err := enc.Encode(l); err != nil {
				return err
			}
		} else {
			e.printLogLine(l)
		}
	}
	return nil
}

// printLogLine writes one log line: "15:04:05.000 stdout  text".
func (e *env) printLogLine(l conveyor.LogLine) {
	stream := l.Stream
	if l.Attempt > 1 {
		stream += fmt.Sprintf("#%d", l.Attempt)
	}
	fmt.Fprintf(e.stdout, "%s %-6s %s\n", l.Time.In(e.loc).Format("15:04:05.000"), stream, l.Line)
}
