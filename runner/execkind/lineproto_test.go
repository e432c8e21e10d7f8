package execkind

import (
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		line string
		want message
	}{
		{`OUTPUT: {"a":1}`, message{kind: msgOutput, text: `{"a":1}`}},
		{`OUTPUT:{"a":1}`, message{kind: msgOutput, text: `{"a":1}`}},
		{"OUTPUT:\t 42 ", message{kind: msgOutput, text: "42 "}},
		{"OUTPUT:", message{kind: msgOutput, text: ""}},
		{"ERROR: no such file: x.csv", message{kind: msgError, text: "no such file: x.csv"}},
		{"ERROR:", message{kind: msgError, text: ""}},
		{"FATAL: bad input", message{kind: msgFatal, text: "bad input"}},
		{"LOG: step 1: done", message{kind: msgLog, text: "step 1: done"}},
		{"LOG:", message{kind: msgLog, text: ""}},
		{`FINAL: {"a":1}`, message{kind: msgFinal, text: `{"a":1}`}},
		{`NEXT: narrate {"a":1}`, message{kind: msgNext, text: `{"a":1}`, stage: "narrate"}},
		{`NEXT:narrate  [1]`, message{kind: msgNext, text: `[1]`, stage: "narrate"}},
		{`NEXT: {"a":1}`, message{kind: msgPlain, text: `NEXT: {"a":1}`}},
		{"NEXT: narrate", message{kind: msgPlain, text: "NEXT: narrate"}},
		{"PROGRESS: 42.5 half way there", message{kind: msgProgress, text: "half way there", percent: 42.5}},
		{"PROGRESS: 0", message{kind: msgProgress, percent: 0}},
		{"PROGRESS: 100 done", message{kind: msgProgress, text: "done", percent: 100}},
		{"PROGRESS: 50%  loading", message{kind: msgProgress, text: "loading", percent: 50}},
		{"PROGRESS: 1e1 ten", message{kind: msgProgress, text: "ten", percent: 10}},
		{"PROGRESS: 101 over", message{kind: msgPlain, text: "PROGRESS: 101 over"}},
		{"PROGRESS: -1", message{kind: msgPlain, text: "PROGRESS: -1"}},
		{"PROGRESS: NaN", message{kind: msgPlain, text: "PROGRESS: NaN"}},
		{"PROGRESS: half", message{kind: msgPlain, text: "PROGRESS: half"}},
		{"PROGRESS:", message{kind: msgPlain, text: "PROGRESS:"}},
		{"output: lower case is not a prefix", message{kind: msgPlain, text: "output: lower case is not a prefix"}},
		{" OUTPUT: 1", message{kind: msgPlain, text: " OUTPUT: 1"}},
		{"OUTPUTS: 1", message{kind: msgPlain, text: "OUTPUTS: 1"}},
		{"WARNING: disk", message{kind: msgPlain, text: "WARNING: disk"}},
		{"plain line", message{kind: msgPlain, text: "plain line"}},
		{"", message{kind: msgPlain, text: ""}},
	}
	for _, tt := range tests {
		if got := parseLine(tt.line); got != tt.want {
			t.Errorf("parseLine(%q) = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

type readLine struct {
	line    string
	dropped int
}

func collectLines(t *testing.T, r io.Reader, maxLen int) []readLine {
	t.Helper()
	var got []readLine
	err := readLines(r, maxLen, func(line string, dropped int) {
		got = append(got, readLine{line, dropped})
	})
	if err != nil {
		t.Fatalf("readLines: %v", err)
	}
	return got
}

func TestReadLines(t *testing.T) {
	tests := []struct {
		in     string
		maxLen int
		want   []readLine
	}{
		{"", 10, nil},
		{"a\nb\n", 10, []readLine{{"a", 0}, {"b", 0}}},
		{"a\r\nb", 10, []readLine{{"a", 0}, {"b", 0}}},
		{"\n\n", 10, []readLine{{"", 0}, {"", 0}}},
		{"0123456789\n", 10, []readLine{{"0123456789", 0}}},
		{"0123456789abc\nz\n", 10, []readLine{{"0123456789", 3}, {"z", 0}}},
		{"0123456789abc", 10, []readLine{{"0123456789", 3}}},
	}
	for _, tt := range tests {
		got := collectLines(t, iotest.OneByteReader(strings.NewReader(tt.in)), tt.maxLen)
		if !slices.Equal(got, tt.want) {
			t.Errorf("readLines(%q, %d) = %+v, want %+v", tt.in, tt.maxLen, got, tt.want)
		}
	}
}

func TestReadLinesLong(t *testing.T) {
	// Lines far longer than the reader's buffer are cut, and the lines
	// after them are intact.
	const maxLen = 100 << 10
	in := strings.Repeat("x", 5*maxLen) + "\nnext\n" + strings.Repeat("y", maxLen) + "\n"
	got := collectLines(t, strings.NewReader(in), maxLen)
	if len(got) != 3 {
		t.Fatalf("got %d lines, want 3", len(got))
	}
	if len(got[0].line) != maxLen || got[0].dropped != 4*maxLen {
		t.Errorf("line 1: %d bytes, %d dropped; want %d, %d", len(got[0].line), got[0].dropped, maxLen, 4*maxLen)
	}
	if got[1] != (readLine{"next", 0}) {
		t.Errorf("line 2 = %q, want next", got[1].line)
	}
	if len(got[2].line) != maxLen || got[2].dropped != 0 {
		t.Errorf("line 3: %d bytes, %d dropped; want %d, 0", len(got[2].line), got[2].dropped, maxLen)
	}
}
