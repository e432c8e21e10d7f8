package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/conveyor-run/conveyor"
)

// What a runner has to give the processes it starts, and what it says of
// itself: resources (GPUs), labels. What an entry's processes are given
// (user, rlimits, resources of each) are the keys of its kind.

// validateRunner checks the runner's resources and labels.
func (c *Config) validateRunner(add func(string, ...any)) {
	if err := CheckResources("resources", c.Resources); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			add("%s", line)
		}
	}
	if err := conveyor.Requirements(c.Labels).Validate(); err != nil {
		add("labels: %s", strings.TrimPrefix(err.Error(), "requires: "))
	}
}

// Resources are the names of the resources a runner hands out.
var Resources = []string{"gpu"}

// CheckResources returns an error naming each unknown resource of r and
// each negative amount, one a line, each starting with where (the key
// that holds r): the runner's resources, and a worker entry's.
func CheckResources(where string, r map[string]int) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(r)) {
		if !slices.Contains(Resources, name) {
			errs = append(errs, fmt.Errorf("%s: unknown resource %q (known: %s)", where, name, strings.Join(Resources, ", ")))
		}
		if r[name] < 0 {
			errs = append(errs, fmt.Errorf("%s.%s must not be negative", where, name))
		}
	}
	return errors.Join(errs...)
}
