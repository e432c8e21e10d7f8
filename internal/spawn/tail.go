package spawn

import (
	"strings"
	"sync"
)

// Bounds of a Tail.
const (
	tailLines = 20
	tailBytes = 4 << 10
)

// Tail keeps the last lines of a child's output — its stderr — for the
// detail of an error: at most 20 lines and about 4 KiB. The zero Tail is
// empty and ready to use. It is safe for concurrent use.
type Tail struct {
	mu    sync.Mutex
	lines []string
	size  int
}

// Add appends line, dropping the oldest lines beyond the bounds. A line
// longer than 4 KiB keeps its end.
func (t *Tail) Add(line string) {
	if len(line) > tailBytes {
		line = "…" + line[len(line)-tailBytes:]
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	t.size += len(line) + 1
	for len(t.lines) > tailLines || (t.size > tailBytes && len(t.lines) > 1) {
		t.size -= len(t.lines[0]) + 1
		t.lines = t.lines[1:]
	}
}

// String returns the kept lines joined by newlines, with invalid UTF-8
// (a line cut inside a character, say) replaced by U+FFFD.
func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.ToValidUTF8(strings.Join(t.lines, "\n"), "\uFFFD")
}
