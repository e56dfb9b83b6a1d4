package main

import (
	"context"
	"testing"
)

// The quick start must keep running against the embedded miniredis, as the
// README promises.
func TestQuickstartRuns(t *testing.T) {
	t.Setenv("REDIS_ADDR", "")
	if err := run(context.Background()); err != nil {
		t.Fatal(err)
	}
}
