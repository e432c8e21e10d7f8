package spawn

import (
	"fmt"
	"strings"
	"testing"
)

func TestTail(t *testing.T) {
	var empty Tail
	if got := empty.String(); got != "" {
		t.Errorf("empty tail = %q", got)
	}

	var many Tail
	for i := range 30 {
		many.Add(fmt.Sprint("line ", i))
	}
	lines := strings.Split(many.String(), "\n")
	if len(lines) != tailLines || lines[0] != "line 10" || lines[len(lines)-1] != "line 29" {
		t.Errorf("tail of 30 lines = %q, want lines 10 to 29", lines)
	}

	var long Tail
	for range 10 {
		long.Add(strings.Repeat("a", 1000))
	}
	long.Add("last")
	if got := long.String(); len(got) > tailBytes || !strings.HasSuffix(got, "\nlast") {
		t.Errorf("tail of long lines: %d bytes ending %q; want at most %d ending in last", len(got), got[max(0, len(got)-10):], tailBytes)
	}

	var huge Tail
	huge.Add(strings.Repeat("b", 3*tailBytes) + "end")
	if got := huge.String(); !strings.HasSuffix(got, "end") || len(got) > tailBytes+len("…") {
		t.Errorf("tail of one huge line: %d bytes, want its last %d", len(got), tailBytes)
	}

	var cut Tail
	cut.Add("é" + strings.Repeat("x", tailBytes-1)) // cut inside the é
	if got := cut.String(); !strings.HasPrefix(got, "…\uFFFD") {
		t.Errorf("a line cut inside a character starts %q, want …\\uFFFD", got[:min(len(got), 8)])
	}
}
