package schema

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
)

func TestCache(t *testing.T) {
	var c Cache
	raw := json.RawMessage(primeSchema)

	s1, err := c.Compile(raw)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := c.Compile(json.RawMessage(primeSchema))
	if err != nil {
		t.Fatal(err)
	}
	if s1 != s2 {
		t.Error("the same bytes compiled twice")
	}
	if got := c.Len(); got != 1 {
		t.Errorf("Len = %d, want 1", got)
	}

	// A failure is remembered too, and returned as the same error.
	bad := json.RawMessage(`{"type":42}`)
	_, err1 := c.Compile(bad)
	_, err2 := c.Compile(bad)
	if err1 == nil || err1 != err2 {
		t.Errorf("invalid schema: errors %v and %v, want the same non-nil error", err1, err2)
	}

	if err := c.Validate(raw, json.RawMessage(`{"n":-1}`)); err == nil {
		t.Error("Validate accepted n=-1")
	}
	if err := c.Validate(raw, json.RawMessage(`{"n":1}`)); err != nil {
		t.Errorf("Validate(n=1) = %v", err)
	}
	if err := c.Validate(bad, json.RawMessage(`{}`)); err != err1 {
		t.Errorf("Validate against an invalid schema = %v, want %v", err, err1)
	}
}

func TestCacheSize(t *testing.T) {
	c := Cache{Size: 3}
	for i := range 10 {
		raw := json.RawMessage(fmt.Sprintf(`{"type":"integer","minimum":%d}`, i))
		if _, err := c.Compile(raw); err != nil {
			t.Fatal(err)
		}
		if got := c.Len(); got > 3 {
			t.Fatalf("after %d schemas Len = %d, want at most 3", i+1, got)
		}
	}
}

func TestCacheConcurrently(t *testing.T) {
	var c Cache
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				raw := json.RawMessage(fmt.Sprintf(`{"type":"object","maxProperties":%d}`, j%5))
				err := c.Validate(raw, json.RawMessage(`{"a":1}`))
				if (j%5 == 0) != (err != nil) {
					t.Errorf("goroutine %d, maxProperties %d: %v", i, j%5, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := c.Len(); got != 5 {
		t.Errorf("Len = %d, want 5", got)
	}
}
