package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/conveyor-run/conveyor"
)

// This file holds the commands about the server rather than its jobs.

var algorithmsCommand = &command{
	name: "algorithms", args: "[NAME]", summary: "list the algorithms, or show one",
	help: `List the algorithms the live runners serve, with how many of their jobs
are queued and running. With NAME, show that algorithm with its schemas.`,
	run: cmdAlgorithms,
}

func cmdAlgorithms(ctx context.Context, e *env, cmd *command, args []string) error {
	fs := cmd.flagSet(e)
	cf := e.addClientFlags(fs)
	pos, err := parseArgs(fs, args, 0, 1)
	if err != nil {
		return err
	}
	c, err := e.client(cf)
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		info, err := c.Algorithm(ctx, pos[0])
		if err != nil {
			return err
		}
		if cf.json {
			return printJSON(e.stdout, info)
		}
		e.printAlgorithm(info)
		return nil
	}
	list, err := c.Algorithms(ctx)
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(e.stdout, list)
	}
	return algorithmTable(e.stdout, list)
}

// algorithmTable writes the algorithms as a table.
func algorithmTable(w io.Writer, list *conveyor.AlgorithmList) error {
	if len(list.Algorithms) == 0 {
		fmt.Fprintln(w, "No algorithms: no runner serves any.")
		return nil
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "NAME\tKIND\tRUNNERS\tQUEUED\tRUNNING\tDESCRIPTION")
	for _, a := range list.Algorithms {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", a.Name, a.Kind, len(a.Runners), a.Queued, a.Running,
			orDash(truncate(firstLine(a.Description), 60)))
	}
	return tw.Flush()
}

// printAlgorithm writes one algorithm and its schemas.
func (e *env) printAlgorithm(a *conveyor.AlgorithmInfo) {
	tw := newTable(e.stdout)
	fmt.Fprintf(tw, "Name:\t%s\n", a.Name)
	fmt.Fprintf(tw, "Kind:\t%s\n", a.Kind)
	if a.Pipeline != nil {
		fmt.Fprintf(tw, "Stages:\t%s (at most %d steps)\n", strings.Join(a.Pipeline.Stages, " → "), a.Pipeline.MaxSteps)
	}
	if a.Batch != nil {
		fmt.Fprintf(tw, "Batches:\tup to %d jobs, waiting up to %v for more\n", a.Batch.MaxSize, a.Batch.MaxWait)
	}
	if a.Description != "" {
		fmt.Fprintf(tw, "Description:\t%s\n", firstLine(a.Description))
	}
	if a.Timeout > 0 {
		fmt.Fprintf(tw, "Timeout:\t%s\n", fmtDuration(a.Timeout.Std()))
	}
	maxAttempts := a.MaxAttempts
	if maxAttempts == 0 {
		maxAttempts = conveyor.DefaultMaxAttempts
	}
	fmt.Fprintf(tw, "Max attempts:\t%d\n", maxAttempts)
	fmt.Fprintf(tw, "Runners:\t%s\n", orNone(strings.Join(a.Runners, ", ")))
	if a.Pipeline == nil {
		fmt.Fprintf(tw, "Workers:\t%d\n", a.Workers)
	}
	for _, c := range a.Conflicts {
		fmt.Fprintf(tw, "Conflict:\trunner %s serves it with another input schema (sha256 %.12s, registered %.12s)\n",
			c.Runner, c.InputSchemaSHA256, c.RegisteredSHA256)
	}
	fmt.Fprintf(tw, "Queued:\t%d\n", a.Queued)
	fmt.Fprintf(tw, "Running:\t%d\n", a.Running)
	tw.Flush()
	if rest, ok := strings.CutPrefix(a.Description, firstLine(a.Description)); ok && strings.TrimSpace(rest) != "" {
		fmt.Fprintf(e.stdout, "%s\n", indent(strings.TrimSpace(a.Description), "  "))
	}
	if len(a.InputSchema) > 0 {
		fmt.Fprintf(e.stdout, "Input schema:\n%s\n", indent(prettyJSON(a.InputSchema), "  "))
	}
	if len(a.OutputSchema) > 0 {
		fmt.Fprintf(e.stdout, "Output schema:\n%s\n", indent(prettyJSON(a.OutputSchema), "  "))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

var runnersCommand = &command{
	name: "runners", summary: "list the live runners",
	run: cmdRunners,
}

func cmdRunners(ctx context.Context, e *env, cmd *command, args []string) error {
	fs := cmd.flagSet(e)
	cf := e.addClientFlags(fs)
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	c, err := e.client(cf)
	if err != nil {
		return err
	}
	list, err := c.Runners(ctx)
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(e.stdout, list)
	}
	return e.runnerTable(e.stdout, list)
}

// runnerTable writes the runners as a table.
func (e *env) runnerTable(w io.Writer, list *conveyor.RunnerList) error {
	if len(list.Runners) == 0 {
		fmt.Fprintln(w, "No runners.")
		return nil
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tHOST\tBUSY\tALGORITHMS\tVERSION\tLAST SEEN")
	for _, r := range list.Runners {
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%s\n", r.ID, r.Host, r.Busy, r.Capacity,
			truncate(strings.Join(r.Algorithms, ","), 40), r.Version, e.fmtAgo(r.LastSeen))
	}
	return tw.Flush()
}

var versionCommand = &command{
	name: "version", summary: "print the client's version and the server's",
	help: `Print the version of this program and, if the server answers, the
server's (from /healthz). An unreachable server is not an error.`,
	run: cmdVersion,
}

// versionInfo is the --json output of version.
type versionInfo struct {
	Client      string           `json:"client"`
	Go          string           `json:"go"`
	Server      *conveyor.Health `json:"server,omitempty"`
	ServerError string           `json:"server_error,omitempty"`
}

func cmdVersion(ctx context.Context, e *env, cmd *command, args []string) error {
	fs := cmd.flagSet(e)
	cf := e.addClientFlags(fs)
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	c, err := e.client(cf)
	if err != nil {
		return err
	}
	v := versionInfo{Client: conveyor.Version, Go: runtime.Version()}
	h, err := c.Health(ctx)
	v.Server = h
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		v.ServerError = err.Error()
	}
	if cf.json {
		return printJSON(e.stdout, v)
	}
	fmt.Fprintf(e.stdout, "client: %s (%s %s/%s)\n", v.Client, v.Go, runtime.GOOS, runtime.GOARCH)
	switch {
	case h != nil:
		fmt.Fprintf(e.stdout, "server: %s (%s, %s)\n", h.Version, h.Status, c.BaseURL())
	default:
		fmt.Fprintf(e.stdout, "server: unknown (%s)\n", v.ServerError)
	}
	return nil
}
