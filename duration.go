package conveyor

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Duration is a time.Duration that reads and writes JSON and YAML as a Go
// duration string ("90s", "1h30m"). It also reads a bare number as seconds.
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case float64:
		*d = Duration(v * float64(time.Second))
		return nil
	case string:
		return d.parse(v)
	}
	return fmt.Errorf("duration must be a string like \"30s\" or a number of seconds, not %s", b)
}

// UnmarshalText reads a duration string or a number of seconds; YAML and
// environment variables use it.
func (d *Duration) UnmarshalText(b []byte) error { return d.parse(string(b)) }

// MarshalText writes d as a duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func (d *Duration) parse(s string) error {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		var secs float64
		if _, serr := fmt.Sscanf(s, "%g", &secs); serr == nil && fmt.Sprint(secs) == s {
			*d = Duration(secs * float64(time.Second))
			return nil
		}
		return fmt.Errorf("invalid duration %q (want e.g. \"30s\", \"5m\", \"2h\")", s)
	}
	if v < 0 {
		return fmt.Errorf("invalid duration %q: negative", s)
	}
	*d = Duration(v)
	return nil
}

// ParseSince reads a moment as a client gives one: an RFC 3339 time, or a
// duration back from now ("1h", "90m"). It returns an error saying so for
// anything else.
func ParseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	var d Duration
	if err := d.UnmarshalText([]byte(s)); err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration like 1h", s)
	}
	return now.Add(-d.Std()), nil
}
