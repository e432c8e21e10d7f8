package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/conveyor-run/conveyor"
)

// This file renders the server's objects for people. Machine output (--json)
// is the objects themselves, with printJSON.

// newTable returns a tabwriter for aligned columns separated by two spaces.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// printJob writes the job as "Key:  value" lines, then its output (indented
// JSON) or its error.
func (e *env) printJob(w io.Writer, j *conveyor.Job) {
	tw := newTable(w)
	row := func(key, format string, args ...any) {
		fmt.Fprintf(tw, "%s:\t%s\n", key, fmt.Sprintf(format, args...))
	}
	row("ID", "%s", j.ID)
	row("Algorithm", "%s", j.Algorithm)
	row("Status", "%s", j.Status)
	if j.Stage != nil && j.Pipeline != nil {
		row("Stage", "%s (%d of %d, step %d) of %s", j.Stage.Name, j.Stage.Index+1, j.Stage.Of, j.Stage.Step+1, strings.Join(j.Pipeline.Stages, " → "))
	}
	row("Attempt", "%d/%d", j.Attempt, j.MaxAttempts)
	if j.Progress != nil {
		row("Progress", "%s", strings.TrimSpace(fmtPercent(j.Progress.Percent)+" "+j.Progress.Message))
	}
	if j.Priority != "" && j.Priority != conveyor.PriorityNormal {
		row("Priority", "%s", j.Priority)
	}
	if j.Timeout > 0 {
		row("Timeout", "%s", fmtDuration(j.Timeout.Std()))
	}
	if j.Mutex != "" {
		row("Mutex", "%s", j.Mutex)
	}
	if j.IdempotencyKey != "" {
		row("Idempotency key", "%s", j.IdempotencyKey)
	}
	if len(j.Labels) > 0 {
		row("Labels", "%s", fmtLabels(j.Labels))
	}
	if len(j.Requires) > 0 {
		row("Requires", "%s", fmtLabels(j.Requires))
	}
	if j.RetryOf != "" {
		row("Retry of", "%s", j.RetryOf)
	}
	if j.Runner != "" {
		row("Runner", "%s", j.Runner)
	}
	row("Created", "%s", e.fmtTime(j.CreatedAt))
	if j.StartedAt != nil {
		row("Started", "%s (queued %s)", e.fmtTime(*j.StartedAt), fmtDuration(j.StartedAt.Sub(j.CreatedAt)))
	}
	switch {
	case j.FinishedAt != nil && j.StartedAt != nil:
		row("Finished", "%s (ran %s)", e.fmtTime(*j.FinishedAt), fmtDuration(j.FinishedAt.Sub(*j.StartedAt)))
	case j.FinishedAt != nil:
		row("Finished", "%s", e.fmtTime(*j.FinishedAt))
	case j.StartedAt != nil && j.Status == conveyor.StatusRunning:
		row("Running for", "%s", fmtDuration(e.now().Sub(*j.StartedAt)))
	}
	if j.RetryAt != nil && j.Status == conveyor.StatusQueued {
		row("Retry at", "%s", e.fmtTime(*j.RetryAt))
	}
	if j.Error != nil {
		row("Error", "%s", fmtJobError(j.Error))
	}
	for i, a := range j.Artifacts {
		key := "" // one row each, the key on the first
		if i == 0 {
			key = "Artifacts:"
		}
		fmt.Fprintf(tw, "%s\t%s (%s)\n", key, a.Name, fmtSize(a.Size))
	}
	tw.Flush()
	if j.Error != nil && j.Error.Detail != "" {
		fmt.Fprintf(w, "Detail:\n%s\n", indent(strings.TrimRight(j.Error.Detail, "\n"), "  "))
	}
	if len(j.Output) > 0 && j.Status == conveyor.StatusSucceeded {
		fmt.Fprintf(w, "Output:\n%s\n", indent(prettyJSON(j.Output), "  "))
	}
}

// fmtJobError writes "type: message", whatever the type.
func fmtJobError(e *conveyor.JobError) string {
	if e.Type == "" {
		return e.Message
	}
	return e.Type + ": " + e.Message
}

// prettyJSON returns raw indented by two spaces, or as it is if it is not
// valid JSON.
func prettyJSON(raw json.RawMessage) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}

// indent prefixes every line of s with prefix.
func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// fmtLabels writes labels as "k1=v1, k2=v2", sorted by key.
func fmtLabels(labels map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ", ")
}

// fmtPercent writes p as "42%" or "42.5%".
func fmtPercent(p float64) string {
	if p == float64(int64(p)) {
		return strconv.FormatInt(int64(p), 10) + "%"
	}
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}

// fmtTime writes t in e's location to the second; "-" for the zero time.
func (e *env) fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(e.loc).Format("2006-01-02 15:04:05")
}

// fmtDuration writes d rounded to what a person cares about, without zero
// units at its end: "<1ms", "850ms", "2.3s", "4m12s", "5m", "3h5m", "2h".
func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Millisecond:
		return "<1ms"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Hour:
		d = d.Round(time.Second)
	default:
		d = d.Round(time.Minute)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// fmtAgo writes how long before now t was: "3s ago"; "-" for the zero time.
func (e *env) fmtAgo(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return fmtDuration(e.now().Sub(t).Round(time.Second)) + " ago"
}

// truncate cuts s to at most n runes, ending it with "…" when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// firstLine returns the first line of s.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
