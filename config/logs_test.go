package config

import (
	"strings"
	"testing"
)

func TestLogsMaxPerJob(t *testing.T) {
	c, err := Parse([]byte("{}"), nil)
	if err != nil || c.Logs.MaxPerJob != DefaultLogCap {
		t.Fatalf("default: %v %v", c.Logs.MaxPerJob, err)
	}
	c, err = Parse([]byte("logs: {max_per_job: 256KiB}"), nil)
	if err != nil || c.Logs.MaxPerJob != 256<<10 {
		t.Fatalf("from the file: %v %v", c.Logs.MaxPerJob, err)
	}
	c, err = Parse([]byte("{}"), []string{"CONVEYOR_LOGS_MAX_PER_JOB=2MiB"})
	if err != nil || c.Logs.MaxPerJob != 2<<20 {
		t.Fatalf("from the environment: %v %v", c.Logs.MaxPerJob, err)
	}
	if _, err := Parse([]byte("logs: {max_per_job: lots}"), nil); err == nil || !strings.Contains(err.Error(), "invalid size") {
		t.Fatalf("not a size: %v", err)
	}
}
