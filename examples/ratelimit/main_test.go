package main

import (
	"context"
	"testing"
)

// The example must keep running against the embedded miniredis.
func TestRateLimitExampleRuns(t *testing.T) {
	t.Setenv("REDIS_ADDR", "")
	if err := run(context.Background()); err != nil {
		t.Fatal(err)
	}
}
