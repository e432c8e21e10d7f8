// Command conveyor runs a Conveyor server and talks to one.
//
//	conveyor serve [flags]                 run broker, gateway and runners in one process
//	conveyor submit ALGO [flags]           submit a job (--wait to wait for its result)
//	conveyor upload PATH                   upload a file for jobs to reference ({"$file": id})
//	conveyor status ID                     show a job
//	conveyor wait ID [--timeout D]         wait for a job to finish
//	conveyor logs ID [-f]                  print (or follow) a job's log
//	conveyor cancel ID                     cancel a job (without ID: every match of --algorithm, --status, …)
//	conveyor retry ID                      retry a finished job (without ID: every match of --failed, --algorithm, …)
//	conveyor rm ID...                      delete finished jobs
//	conveyor jobs [flags]                  list jobs, newest first
//	conveyor algorithms [NAME]             list algorithms, or show one
//	conveyor runners                       list live runners
//	conveyor version                       print client and server versions
//
// Client commands take --server URL (default $CONVEYOR_SERVER, else
// http://127.0.0.1:8080) and --json. Run "conveyor help" for the details and
// the exit statuses.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/conveyor-run/conveyor"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailed      = 1 // an error, or a waited-for job that failed or was canceled
	exitUsage       = 2
	exitTimeout     = 3 // a wait ran out of time; the job goes on
	exitInterrupted = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], osEnv())
	stop()
	os.Exit(code)
}

// command is one subcommand of conveyor.
type command struct {
	name    string
	args    string // synopsis of the positional arguments, after the name
	summary string // one line for the command list
	help    string // paragraphs printed above the flags by "help NAME"
	run     func(ctx context.Context, e *env, cmd *command, args []string) error
}

// commands returns every subcommand, in the order usage lists them.
func commands() []*command {
	return []*command{
		serverCommand("serve", "run the broker, gateway and runners in one process"),
		serverCommand("gateway", "run the HTTP API against a NATS server (--nats)"),
		serverCommand("runner", "run the configured algorithms against a NATS server (--nats)"),
		serverCommand("broker", "run the embedded NATS JetStream server alone"),
		submitCommand,
		uploadCommand,
		statusCommand,
		waitCommand,
		logsCommand,
		artifactsCommand,
		downloadCommand,
		cancelCommand,
		retryCommand,
		rmCommand,
		jobsCommand,
		schedulesCommand,
		scheduleCommand,
		algorithmsCommand,
		runnersCommand,
		watchCommand,
		versionCommand,
	}
}

// serverCommand is the command that runs the server named name.
func serverCommand(name, summary string) *command {
	return &command{name: name, summary: summary,
		run: func(ctx context.Context, e *env, _ *command, args []string) error {
			return cmdServer(ctx, e, servers[name], args)
		}}
}

func lookup(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// run runs the command line args (without the program name) and returns the
// exit status.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		return help(ctx, e, args[1:])
	}
	cmd := lookup(args[0])
	if cmd == nil {
		fmt.Fprintf(e.stderr, "conveyor: unknown command %q\n\n", args[0])
		usage(e.stderr)
		return exitUsage
	}
	return e.exit(ctx, cmd, cmd.run(ctx, e, cmd, args[1:]))
}

// help prints the usage of conveyor, or of the command args[0], on stdout.
func help(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stdout)
		return exitOK
	}
	cmd := lookup(args[0])
	if cmd == nil {
		fmt.Fprintf(e.stderr, "conveyor help: unknown command %q\n", args[0])
		return exitUsage
	}
	he := *e
	he.stderr = e.stdout // flag sets print their usage on stderr
	return he.exit(ctx, cmd, cmd.run(ctx, &he, cmd, []string{"-h"}))
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Conveyor turns computations into durable HTTP job services.

Usage: conveyor <command> [arguments] [flags]

Commands:
`)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	fmt.Fprintf(tw, "  help [COMMAND]\tshow this, or the flags of COMMAND\n")
	tw.Flush()
	fmt.Fprint(w, `
Client commands (all but serve, gateway, runner and broker) also take:
  --server URL   the server (default $CONVEYOR_SERVER, else `+defaultServer+`)
  --json         print the server's JSON instead of text
and send $CONVEYOR_TOKEN, when set, as a bearer token.

Exit status:
  0    success; for submit --wait and wait, the job succeeded
  1    an error, or the job waited for failed or was canceled
  2    bad usage
  3    a wait ran out of time (the job goes on)
  130  interrupted
`)
}

// usageError is a command line mistake: it exits with exitUsage.
type usageError struct {
	msg     string
	printed bool // the flag package has already told the user
}

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitError ends the command with a given status, printing err if not nil.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// exit reports err, the result of cmd, on stderr and returns the exit status.
func (e *env) exit(ctx context.Context, cmd *command, err error) int {
	var ue *usageError
	var xe *exitError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		if !ue.printed {
			fmt.Fprintf(e.stderr, "conveyor %s: %s\nRun 'conveyor help %s' for usage.\n", cmd.name, ue.msg, cmd.name)
		}
		return exitUsage
	case errors.As(err, &xe):
		if xe.err != nil {
			e.printError(xe.err)
		}
		return xe.code
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		fmt.Fprintln(e.stderr, "conveyor: interrupted")
		return exitInterrupted
	}
	e.printError(err)
	return exitFailed
}

// env is what a command may use of the world, so that tests can fake it.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	stdinTTY       bool // stdin is a terminal: submit does not read input from it
	stderrTTY      bool // stderr is a terminal: waits draw a progress bar on it
	stdoutTTY      bool // stdout is a terminal: watch redraws the screen
	now            func() time.Time
	loc            *time.Location // for printing times
	waitPoll       time.Duration  // how often a wait refreshes progress
}

func osEnv() *env {
	return &env{
		stdin:     os.Stdin,
		stdout:    os.Stdout,
		stderr:    os.Stderr,
		getenv:    os.Getenv,
		stdinTTY:  isTerminal(os.Stdin),
		stderrTTY: isTerminal(os.Stderr),
		stdoutTTY: isTerminal(os.Stdout),
		now:       time.Now,
		loc:       time.Local,
		waitPoll:  time.Second,
	}
}

// isTerminal reports whether f is a character device, a terminal.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// printError prints err on stderr: "conveyor: message", then one line per
// schema violation it carries.
func (e *env) printError(err error) {
	msg := err.Error()
	if ra := retryAfter(err); ra > 0 {
		msg += fmt.Sprintf(" (retry after %s)", ra)
	}
	fmt.Fprintf(e.stderr, "conveyor: %s\n", msg)
	var ce *conveyor.Error
	if errors.As(err, &ce) {
		for _, v := range ce.Details {
			ptr := v.Pointer
			if ptr == "" {
				ptr = "(input)"
			}
			fmt.Fprintf(e.stderr, "  %s: %s\n", ptr, v.Message)
		}
	}
}
