package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/conveyor-run/conveyor"
)

// This file holds the commands for dead letters: retry, bulk cancel, rm.

// filterFlags are the flags that pick the jobs of a bulk action.
type filterFlags struct {
	algorithm, status, since, until string
	labels                          labelsFlag
}

func addFilterFlags(fs *flag.FlagSet, statusHelp string) *filterFlags {
	ff := &filterFlags{labels: labelsFlag{}}
	fs.StringVar(&ff.algorithm, "algorithm", "", "only jobs of `ALGO`")
	fs.StringVar(&ff.status, "status", "", "only jobs in `STATUS` ("+statusHelp+"; a comma list for several)")
	fs.Var(ff.labels, "label", "only jobs with the label `key=value` (repeatable: all must match)")
	fs.StringVar(&ff.since, "since", "", "only jobs created since `TIME` (RFC 3339, or a duration ago: 1h)")
	fs.StringVar(&ff.until, "until", "", "only jobs created before `TIME` (RFC 3339, or a duration ago)")
	return ff
}

// filter returns the filter the flags give, and whether any flag gave one.
func (ff *filterFlags) filter(now time.Time) (f conveyor.JobFilter, set bool, err error) {
	f.Algorithm = ff.algorithm
	if ff.status != "" {
		for _, s := range strings.Split(ff.status, ",") {
			st, err := conveyor.ParseStatus(strings.TrimSpace(s))
			if err != nil {
				return f, false, usagef("--status: %s", conveyor.ErrorMessage(err))
			}
			f.Status = append(f.Status, st)
		}
	}
	if len(ff.labels) > 0 {
		f.Labels = ff.labels
	}
	for _, t := range []struct {
		flag, v string
		to      **time.Time
	}{{"--since", ff.since, &f.CreatedAfter}, {"--until", ff.until, &f.CreatedBefore}} {
		if t.v == "" {
			continue
		}
		at, err := conveyor.ParseSince(t.v, now)
		if err != nil {
			return f, false, usagef("%s: %v", t.flag, err)
		}
		*t.to = &at
	}
	set = f.Algorithm != "" || len(f.Status) > 0 || len(f.Labels) > 0 || f.CreatedAfter != nil || f.CreatedBefore != nil
	return f, set, nil
}

var retryCommand = &command{
	name: "retry", args: "[ID]", summary: "retry a finished job, or every one that matches",
	help: `Retry the finished job ID: submit it again as a new job (same algorithm,
input, priority and labels; its retry_of names ID) and print the new job.

Without ID, retry every finished job that the flags match — failed and
canceled ones unless --status says otherwise — and print how many:

  conveyor retry --failed --algorithm resize --since 1h

At least one flag is needed: "conveyor retry" alone retries nothing.`,
	run: cmdRetry,
}

func cmdRetry(ctx context.Context, e *env, cmd *command, args []string) error {
	fs := cmd.flagSet(e)
	cf := e.addClientFlags(fs)
	ff := addFilterFlags(fs, "succeeded, failed or canceled; default failed,canceled")
	failed := fs.Bool("failed", false, "only failed jobs (as --status failed)")
	canceled := fs.Bool("canceled", false, "only canceled jobs (as --status canceled)")
	pos, err := parseArgs(fs, args, 0, 1, "job ID")
	if err != nil {
		return err
	}
	f, set, err := ff.filter(e.now())
	if err != nil {
		return err
	}
	if *failed {
		f.Status = append(f.Status, conveyor.StatusFailed)
	}
	if *canceled {
		f.Status = append(f.Status, conveyor.StatusCanceled)
	}
	set = set || *failed || *canceled
	switch {
	case len(pos) == 1 && set:
		return usagef("give a job ID or filter flags, not both")
	case len(pos) == 0 && !set:
		return usagef("missing job ID, or filter flags (--failed, --algorithm, …) to retry every job they match")
	}
	c, err := e.client(cf)
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		job, err := c.RetryJob(ctx, pos[0])
		if err != nil {
			return err
		}
		return e.showJob(cf, job)
	}
	n, err := c.RetryMatching(ctx, f)
	if err != nil {
		return err
	}
	return e.showCount(cf, "Retried", n)
}

// cmdCancelMatching is "conveyor cancel" without a job ID.
func cmdCancelMatching(ctx context.Context, e *env, cf *clientFlags, f conveyor.JobFilter) error {
	c, err := e.client(cf)
	if err != nil {
		return err
	}
	n, err := c.CancelMatching(ctx, f)
	if err != nil {
		return err
	}
	return e.showCount(cf, "Canceled", n)
}

// showCount prints how many jobs a bulk action acted on.
func (e *env) showCount(cf *clientFlags, did string, n int) error {
	if cf.json {
		return printJSON(e.stdout, conveyor.Count{Count: n})
	}
	unit := "jobs"
	if n == 1 {
		unit = "job"
	}
	fmt.Fprintf(e.stdout, "%s %d %s.\n", did, n, unit)
	return nil
}

var rmCommand = &command{
	name: "rm", args: "ID...", summary: "delete finished jobs",
	help: `Delete the finished jobs ID...: their records and logs, from every
gateway. A job not finished yet cannot be deleted: cancel it first.`,
	run: cmdRm,
}

func cmdRm(ctx context.Context, e *env, cmd *command, args []string) error {
	fs := cmd.flagSet(e)
	cf := e.addClientFlags(fs)
	pos, err := parseArgs(fs, args, 1, -1, "job ID")
	if err != nil {
		return err
	}
	c, err := e.client(cf)
	if err != nil {
		return err
	}
	for _, id := range pos {
		if err := c.DeleteJob(ctx, id); err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		if !cf.json {
			fmt.Fprintf(e.stdout, "Deleted %s\n", id)
		}
	}
	return nil
}
