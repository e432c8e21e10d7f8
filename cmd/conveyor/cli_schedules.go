package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/conveyor-run/conveyor"
)

// This file holds the commands for recurring schedules.

var schedulesCommand = &command{
	name: "schedules", args: "[NAME]", summary: "list the recurring schedules, or show one",
	help: `List the recurring schedules with their next and last firings and the
job each last started. With NAME, show that schedule.`,
	run: cmdSchedules,
}

func cmdSchedules(ctx context.Context, e *env, cmd *command, args []string) error {
	fs := cmd.flagSet(e)
	cf := e.addClientFlags(fs)
	pos, err := parseArgs(fs, args, 0, 1, "schedule name")
	if err != nil {
		return err
	}
	c, err := e.client(cf)
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		s, err := c.Schedule(ctx, pos[0])
		if err != nil {
			return err
		}
		return e.showSchedule(cf, s)
	}
	list, err := c.Schedules(ctx)
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(e.stdout, list)
	}
	return e.scheduleTable(e.stdout, list.Schedules)
}

// scheduleTable writes the schedules as a table.
func (e *env) scheduleTable(w io.Writer, list []conveyor.Schedule) error {
	if len(list) == 0 {
		fmt.Fprintln(w, "No schedules.")
		return nil
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "NAME\tALGORITHM\tWHEN\tNEXT\tLAST\tLAST JOB\tFIRED\tSKIPPED")
	for _, s := range list {
		next := "paused"
		if !s.Paused {
			next = e.fmtTime(deref(s.NextAt))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", s.Name, s.Algorithm, when(&s), next, e.fmtTime(deref(s.LastAt)),
			orDash(s.LastJob), s.Fired, s.Skipped)
	}
	return tw.Flush()
}

// when says when s fires: "every 5m", "cron 0 2 * * * (Europe/Paris)".
func when(s *conveyor.Schedule) string {
	if s.Every != 0 {
		return "every " + s.Every.String()
	}
	w := "cron " + s.Cron
	if s.Timezone != "" {
		w += " (" + s.Timezone + ")"
	}
	return w
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// showSchedule prints one schedule.
func (e *env) showSchedule(cf *clientFlags, s *conveyor.Schedule) error {
	if cf.json {
		return printJSON(e.stdout, s)
	}
	tw := newTable(e.stdout)
	fmt.Fprintf(tw, "Name:\t%s\n", s.Name)
	fmt.Fprintf(tw, "Algorithm:\t%s\n", s.Algorithm)
	fmt.Fprintf(tw, "Input:\t%s\n", s.Input)
	fmt.Fprintf(tw, "When:\t%s\n", when(s))
	fmt.Fprintf(tw, "Overlap:\t%s\n", s.Overlap)
	if s.Paused {
		fmt.Fprintf(tw, "Next:\tpaused\n")
	} else {
		fmt.Fprintf(tw, "Next:\t%s\n", e.fmtTime(deref(s.NextAt)))
	}
	if s.LastAt != nil {
		last := e.fmtTime(*s.LastAt)
		if s.LastSkipped {
			last += " (skipped: the previous job was unfinished)"
		}
		fmt.Fprintf(tw, "Last:\t%s\n", last)
	}
	if s.LastJob != "" {
		fmt.Fprintf(tw, "Last job:\t%s\n", s.LastJob)
	}
	if s.LastError != "" {
		fmt.Fprintf(tw, "Last error:\t%s\n", s.LastError)
	}
	fmt.Fprintf(tw, "Fired:\t%d (skipped %d)\n", s.Fired, s.Skipped)
	fmt.Fprintf(tw, "Source:\t%s\n", s.Source)
	return tw.Flush()
}

var scheduleCommand = &command{
	name: "schedule", args: "add|rm|pause|resume|trigger NAME …", summary: "add, remove, pause, resume or trigger a schedule",
	help: `Manage a recurring schedule:

  conveyor schedule add NAME ALGO --every 5m [--data JSON]
  conveyor schedule add NAME ALGO --cron "0 2 * * *" [--timezone Europe/Paris]
  conveyor schedule rm NAME        (it fires no more; its jobs stay)
  conveyor schedule pause NAME     (no firings until resumed)
  conveyor schedule resume NAME
  conveyor schedule trigger NAME   (one job now, printed like submit's)

Each firing starts one job of ALGO labelled schedule=NAME; list them with
"conveyor jobs --label schedule=NAME". With --overlap skip (the default) a
firing starts nothing while the schedule's previous job is unfinished.
Cron takes five fields (minute hour day month weekday), six with seconds
first, or @hourly, @daily, @weekly, @monthly, @yearly.`,
	run: cmdSchedule,
}

func cmdSchedule(ctx context.Context, e *env, cmd *command, args []string) error {
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fs := cmd.flagSet(e)
			_, err := parseArgs(fs, args, 0, 0)
			return err
		}
		return usagef("missing action: add, rm, pause, resume or trigger")
	}
	action, args := args[0], args[1:]
	fs := cmd.flagSet(e)
	cf := e.addClientFlags(fs)
	if action != "add" {
		pos, err := parseArgs(fs, args, 1, 1, "schedule name")
		if err != nil {
			return err
		}
		c, err := e.client(cf)
		if err != nil {
			return err
		}
		switch action {
		case "rm":
			if err := c.DeleteSchedule(ctx, pos[0]); err != nil {
				return err
			}
			if !cf.json {
				fmt.Fprintf(e.stdout, "Deleted schedule %s\n", pos[0])
			}
			return nil
		case "pause", "resume":
			pause := c.PauseSchedule
			if action == "resume" {
				pause = c.ResumeSchedule
			}
			s, err := pause(ctx, pos[0])
			if err != nil {
				return err
			}
			return e.showSchedule(cf, s)
		case "trigger":
			job, err := c.TriggerSchedule(ctx, pos[0])
			if err != nil {
				return err
			}
			if !cf.json && !e.stdoutTTY {
				fmt.Fprintln(e.stdout, job.ID)
				return nil
			}
			return e.showJob(cf, job)
		}
		return usagef("unknown action %q: want add, rm, pause, resume or trigger", action)
	}
	var (
		s           conveyor.Schedule
		every       durationFlag
		input, data string
		priority    string
		labels      = labelsFlag{}
	)
	fs.Var(&every, "every", "fire every `D` (like 30s, 5m, 24h)")
	fs.StringVar(&s.Cron, "cron", "", "fire at the times of the cron `EXPR` (like \"0 2 * * *\")")
	fs.StringVar(&s.Timezone, "timezone", "", "the IANA time `ZONE` of --cron (default UTC)")
	fs.StringVar(&input, "input", "", "read the jobs' input from `FILE` (- for stdin)")
	fs.StringVar(&data, "data", "", "the jobs' input, as `JSON`")
	fs.StringVar(&priority, "priority", "", "the jobs' queue priority `P`: high, normal or low")
	fs.Var(labels, "label", "add the label `key=value` to its jobs (repeatable)")
	fs.StringVar(&s.Overlap, "overlap", "", "while the previous job is unfinished: `skip` the firing (default) or allow it")
	fs.BoolVar(&s.Paused, "paused", false, "make it paused")
	pos, err := parseArgs(fs, args, 2, 2, "schedule name", "algorithm name")
	if err != nil {
		return err
	}
	s.Name, s.Algorithm, s.Every, s.Priority = pos[0], pos[1], conveyor.Duration(every), conveyor.Priority(priority)
	if len(labels) > 0 {
		s.Labels = labels
	}
	if s.Input, err = e.readInputOr(input, data); err != nil {
		return err
	}
	if err := (&s).Check(); err != nil {
		return usagef("%s", conveyor.ErrorMessage(err))
	}
	c, err := e.client(cf)
	if err != nil {
		return err
	}
	made, err := c.CreateSchedule(ctx, s)
	if err != nil {
		return err
	}
	return e.showSchedule(cf, made)
}

// readInputOr is readInput of the --input file or --data, and {} with
// neither (stdin is read only when asked for, with --input -).
func (e *env) readInputOr(path, data string) ([]byte, error) {
	if path == "" && data == "" {
		return []byte(`{}`), nil
	}
	return e.readInput(path, data)
}
