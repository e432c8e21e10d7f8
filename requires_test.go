package conveyor

import (
	"strings"
	"testing"
)

func TestRequirementsCanonicalAndToken(t *testing.T) {
	tests := []struct {
		r    Requirements
		want string
	}{
		{nil, ""},
		{Requirements{"model": "llama"}, "model=llama"},
		{Requirements{"zone": "eu", "model": "llama"}, "model=llama,zone=eu"},
		{Requirements{"model": "llama-3.1", "a": ""}, "a=,model=llama-3.1"},
	}
	for _, tt := range tests {
		if got := tt.r.Canonical(); got != tt.want {
			t.Errorf("%v.Canonical() = %q, want %q", tt.r, got, tt.want)
		}
		tok := tt.r.Token()
		if tt.want == "" {
			if tok != "" {
				t.Errorf("empty set: token %q, want none", tok)
			}
			continue
		}
		for _, c := range tok {
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
			if !ok {
				t.Errorf("token %q of %v holds %q, not subject- and name-safe", tok, tt.r, c)
			}
		}
		back, err := ParseRequirementsToken(tok)
		if err != nil || back.Canonical() != tt.want {
			t.Errorf("ParseRequirementsToken(%q) = %v, %v; want %q", tok, back, err, tt.want)
		}
	}
	for _, bad := range []string{"", "!!", "bm9wYWly"} { // "nopair"
		if _, err := ParseRequirementsToken(bad); err == nil {
			t.Errorf("ParseRequirementsToken(%q): no error", bad)
		}
	}
}

func TestRequirementsValidate(t *testing.T) {
	tests := []struct {
		r  Requirements
		ok bool
	}{
		{nil, true},
		{Requirements{"model": "llama"}, true},
		{Requirements{"": "x"}, false},
		{Requirements{"a=b": "x"}, false},
		{Requirements{"a": "x,y"}, false},
		{Requirements{"a": "1", "b": "1", "c": "1", "d": "1", "e": "1", "f": "1", "g": "1", "h": "1", "i": "1"}, false},
	}
	for _, tt := range tests {
		if err := tt.r.Validate(); (err == nil) != tt.ok {
			t.Errorf("%v.Validate() = %v, want ok=%v", tt.r, err, tt.ok)
		}
	}
}

func TestRequirementsMetBy(t *testing.T) {
	labels := map[string]string{"zone": "eu", "model": "llama"}
	tests := []struct {
		r    Requirements
		want bool
	}{
		{nil, true},
		{Requirements{"model": "llama"}, true},
		{Requirements{"model": "llama", "zone": "eu"}, true},
		{Requirements{"model": "mistral"}, false},
		{Requirements{"gpu": "a100"}, false},
		{Requirements{"model": "llama", "zone": "us"}, false},
	}
	for _, tt := range tests {
		if got := tt.r.MetBy(labels); got != tt.want {
			t.Errorf("%v.MetBy(%v) = %v, want %v", tt.r, labels, got, tt.want)
		}
	}
}

func TestParseRequirements(t *testing.T) {
	tests := []struct {
		in   string
		want string // canonical; "!" for an error
	}{
		{"", ""},
		{"model=llama", "model=llama"},
		{"zone=eu,model=llama", "model=llama,zone=eu"},
		{"model=llama,model=llama", "model=llama"},
		{"empty=", "empty="},
		{"model", "!"},
		{"=x", "!"},
		{"model=a,model=b", "!"},
		{"a=\x01", "!"},
		{"k=" + strings.Repeat("v", 130), "!"},
	}
	for _, tt := range tests {
		r, err := ParseRequirements(tt.in)
		switch {
		case tt.want == "!" && err == nil:
			t.Errorf("ParseRequirements(%q) = %v, want an error", tt.in, r)
		case tt.want != "!" && (err != nil || r.Canonical() != tt.want):
			t.Errorf("ParseRequirements(%q) = %q, %v; want %q", tt.in, r.Canonical(), err, tt.want)
		}
	}
}
