package config

import (
	"fmt"
	"strconv"
	"strings"
)

// ByteSize is a number of bytes written as a plain integer or with a unit:
// B, KB/KiB, MB/MiB, GB/GiB (decimal and binary units are both 1024-based
// here, as users of "10MB" body limits expect).
type ByteSize int64

// UnmarshalText parses "10MiB", "512KB", "1048576".
func (b *ByteSize) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"GB", 1 << 30}, {"MiB", 1 << 20}, {"MB", 1 << 20}, {"KiB", 1 << 10}, {"KB", 1 << 10}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("invalid size %q (want e.g. 10MiB, 512KB or a number of bytes)", text)
	}
	*b = ByteSize(n * mult)
	return nil
}

// MarshalText writes b as a number of bytes.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(strconv.FormatInt(int64(b), 10)), nil }
