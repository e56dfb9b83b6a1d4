package main

import (
	"context"
	"testing"
)

// The lock example must keep running against the embedded miniredis, as
// the README promises.
func TestLockExampleRuns(t *testing.T) {
	t.Setenv("REDIS_ADDR", "")
	if err := run(context.Background()); err != nil {
		t.Fatal(err)
	}
}
