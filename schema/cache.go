package schema

import (
	"encoding/json"
	"sync"
)

// DefaultCacheSize is how many distinct schemas a Cache with no Size holds.
const DefaultCacheSize = 1024

// Cache memoizes Compile by the exact bytes of the schema document, failures
// included, so that a caller validating every request against a schema it
// holds as bytes (the gateway, against the algorithm's announced schema)
// compiles each schema once.
//
// The zero Cache is ready to use and safe for concurrent use. When it holds
// Size schemas it forgets them all and starts again: schemas change only when
// algorithms are redeployed, so a full cache means churn, not a working set.
type Cache struct {
	// Size bounds the number of schemas held; zero means DefaultCacheSize.
	Size int

	mu      sync.RWMutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	schema *Schema
	err    error
}

// Compile returns the compiled schema of raw, compiling it on first use. It
// returns the same errors as the package-level Compile, and the same error
// again for the same bytes.
func (c *Cache) Compile(raw json.RawMessage) (*Schema, error) {
	key := string(raw)
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if ok {
		return e.schema, e.err
	}

	// Compile outside the lock; two goroutines may compile the same schema
	// at once, which is harmless and rarer than blocking every reader.
	s, err := Compile(raw)
	e = cacheEntry{s, err}

	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.entries[key]; ok {
		return prev.schema, prev.err
	}
	size := c.Size
	if size <= 0 {
		size = DefaultCacheSize
	}
	if c.entries == nil || len(c.entries) >= size {
		c.entries = make(map[string]cacheEntry)
	}
	c.entries[key] = e
	return e.schema, e.err
}

// Validate validates instance against the schema raw, compiled through the
// cache. It returns Compile's error when raw is not a valid schema, else
// Schema.Validate's.
func (c *Cache) Validate(raw, instance json.RawMessage) error {
	s, err := c.Compile(raw)
	if err != nil {
		return err
	}
	return s.Validate(instance)
}

// Len returns the number of schemas the cache holds.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
