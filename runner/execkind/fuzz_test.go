package execkind

import (
	"strings"
	"testing"
)

// FuzzParseLine feeds arbitrary stdout lines to the exec line protocol
// parser: it never panics, a plain line keeps its text whole, and progress
// is always within 0–100.
func FuzzParseLine(f *testing.F) {
	for _, seed := range []string{
		"OUTPUT: {\"a\":1}", "ERROR: boom", "FATAL: bad", "PROGRESS: 50 half", "PROGRESS: 101 x",
		"PROGRESS: NaN", "LOG: hi", "plain", "", ":", "OUTPUT:", "PROGRESS: 12.5% done", "progress: 1 x",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		m := parseLine(line)
		switch m.kind {
		case msgPlain:
			if m.text != line {
				t.Fatalf("plain line %q became %q", line, m.text)
			}
		case msgProgress:
			if !(m.percent >= 0 && m.percent <= 100) {
				t.Fatalf("progress %v out of range from %q", m.percent, line)
			}
		default:
			if !strings.Contains(line, m.text) {
				t.Fatalf("payload %q is not part of %q", m.text, line)
			}
		}
	})
}
