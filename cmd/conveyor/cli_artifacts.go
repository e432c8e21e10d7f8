package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/client"
)

var artifactsCommand = &command{
	name: "artifacts", args: "ID", summary: "list the artifacts of a job",
	help: `List the files job ID wrote (its artifacts): name, size, type and
sha256; --json prints them as JSON. Download one with
"conveyor download ID NAME".`,
	run: cmdArtifacts,
}

func cmdArtifacts(ctx context.Context, e *env, cmd *command, args []string) error {
	fs := cmd.flagSet(e)
	cf := e.addClientFlags(fs)
	pos, err := parseArgs(fs, args, 1, 1, "job id")
	if err != nil {
		return err
	}
	c, err := e.client(cf)
	if err != nil {
		return err
	}
	arts, err := c.Artifacts(ctx, pos[0])
	if err != nil {
		return err
	}
	if cf.json {
		if arts == nil {
			arts = []conveyor.Artifact{}
		}
		return printJSON(e.stdout, arts)
	}
	if len(arts) == 0 {
		fmt.Fprintf(e.stderr, "job %s has no artifacts\n", pos[0])
		return nil
	}
	tw := newTable(e.stdout)
	fmt.Fprintln(tw, "NAME\tSIZE\tTYPE\tSHA256")
	for _, a := range arts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Name, fmtSize(a.Size), a.ContentType, a.SHA256)
	}
	return tw.Flush()
}

var downloadCommand = &command{
	name: "download", args: "ID NAME", summary: "download an artifact of a job",
	help: `Download the artifact NAME of job ID (streamed, of any size) into the
file -o FILE, by default NAME in the current directory; -o - writes it to
stdout. The file appears only once it is whole. On a terminal the progress
is shown on stderr.`,
	run: cmdDownload,
}

func cmdDownload(ctx context.Context, e *env, cmd *command, args []string) error {
	fs := cmd.flagSet(e)
	cf := e.addClientFlags(fs)
	var out string
	fs.StringVar(&out, "o", "", "write to `FILE` (default: NAME; - for stdout)")
	pos, err := parseArgs(fs, args, 2, 2, "job id", "artifact name")
	if err != nil {
		return err
	}
	id, name := pos[0], pos[1]
	c, err := e.client(cf)
	if err != nil {
		return err
	}
	arts, err := c.Artifacts(ctx, id)
	if err != nil {
		return err
	}
	var art *conveyor.Artifact
	var names []string
	for i, a := range arts {
		names = append(names, a.Name)
		if a.Name == name {
			art = &arts[i]
		}
	}
	if art == nil {
		if len(names) == 0 {
			return fmt.Errorf("job %s has no artifacts", id)
		}
		return fmt.Errorf("job %s has no artifact %q (it has: %s)", id, name, strings.Join(names, ", "))
	}
	if out == "-" {
		_, err := c.DownloadArtifact(ctx, id, name, e.stdout)
		return err
	}
	if out == "" {
		out = name
	}
	return e.downloadTo(ctx, c, art, id, out)
}

// downloadTo downloads art into the file path, through a temporary file
// beside it that takes its name once it is whole.
func (e *env) downloadTo(ctx context.Context, c *client.Client, art *conveyor.Artifact, id, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.part")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing
	var w io.Writer = tmp
	var bar *byteProgress
	if e.stderrTTY {
		bar = &byteProgress{w: e.stderr, name: art.Name, total: art.Size}
		w = io.MultiWriter(tmp, bar)
	}
	_, err = c.DownloadArtifact(ctx, id, art.Name, w)
	if bar != nil {
		bar.done()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("download %s: %w", art.Name, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if !e.stderrTTY {
		return nil
	}
	fmt.Fprintf(e.stderr, "%s: %s, sha256 %s\n", path, fmtSize(art.Size), art.SHA256)
	return nil
}

// byteProgress draws "name  [#####.....]  42%  12.0 MiB of 28.6 MiB" on
// a terminal, redrawn in place at most ten times a second.
type byteProgress struct {
	w     io.Writer
	name  string
	total int64
	n     int64
	last  time.Time
	drawn int
}

func (p *byteProgress) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond {
		p.last = now
		p.draw()
	}
	return len(b), nil
}

func (p *byteProgress) draw() {
	const width = 20
	pct := 100.0
	if p.total > 0 {
		pct = min(float64(p.n)/float64(p.total)*100, 100)
	}
	filled := int(pct/100*width + 0.5)
	line := fmt.Sprintf("%s  [%s%s] %3.0f%%  %s of %s", p.name, strings.Repeat("#", filled), strings.Repeat(".", width-filled), pct, fmtSize(p.n), fmtSize(p.total))
	fmt.Fprint(p.w, "\r"+line+strings.Repeat(" ", max(p.drawn-len(line), 0)))
	p.drawn = len(line)
}

// done erases the bar.
func (p *byteProgress) done() {
	if p.drawn > 0 {
		fmt.Fprint(p.w, "\r"+strings.Repeat(" ", p.drawn)+"\r")
	}
}

// fmtSize is a byte count for people: "512 B", "12.0 KiB", "3.4 GiB".
func fmtSize(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, unit := float64(n), ""
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v, unit = v/1024, u
		if v < 1024 {
			break
		}
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}
