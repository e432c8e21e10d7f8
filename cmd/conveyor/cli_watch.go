package main

import (
	"bytes"
	"context"
	"fmt"
	"time"
)

var watchCommand = &command{
	name: "watch", summary: "show the algorithms and runners, live",
	help: `Show the algorithms (with their queued and running jobs) and the live
runners, refreshed every --interval until interrupted. On a terminal the
screen is redrawn; otherwise a new snapshot is printed when it changes.`,
	run: cmdWatch,
}

func cmdWatch(ctx context.Context, e *env, cmd *command, args []string) error {
	fs := cmd.flagSet(e)
	cf := e.addClientFlags(fs)
	interval := fs.Duration("interval", time.Second, "how often to refresh")
	once := fs.Bool("once", false, "print one snapshot and exit")
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	if *interval <= 0 {
		return usagef("--interval must be positive")
	}
	c, err := e.client(cf)
	if err != nil {
		return err
	}
	var last []byte
	for {
		algs, err := c.Algorithms(ctx)
		if err != nil {
			return err
		}
		runners, err := c.Runners(ctx)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := algorithmTable(&b, algs); err != nil {
			return err
		}
		fmt.Fprintln(&b)
		if err := e.runnerTable(&b, runners); err != nil {
			return err
		}
		switch {
		case e.stdoutTTY:
			fmt.Fprintf(e.stdout, "\x1b[H\x1b[2J%s  (every %s; Ctrl-C to stop)\n\n%s", e.now().In(e.loc).Format("15:04:05"), *interval, b.Bytes())
		case !bytes.Equal(b.Bytes(), last):
			fmt.Fprintf(e.stdout, "== %s\n%s", e.now().In(e.loc).Format("15:04:05"), b.Bytes())
		}
		last = b.Bytes()
		if *once {
			return nil
		}
		t := time.NewTimer(*interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
