package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The example runs on the embedded miniredis and writes what its comment
// promises: one span per call named after the script, with the fallback
// event, the failing call's error type, the pipeline's scripts, and the
// metrics of calls, locks and limiters.
func TestExampleWritesSpansAndMetrics(t *testing.T) {
	t.Setenv("REDIS_ADDR", "")
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		`"Name": "EVALSHA counters/incr.lua"`,
		`"Name": "redislua.fallback"`,
		`"Value": "counters/incr.lua"`,
		`"Name": "PIPELINE"`,
		`"Key": "redislua.scripts"`,
		`"Name": "db.client.operation.duration"`,
		`"Name": "redislua.call.fallbacks"`,
		`"Name": "redislua.call.errors"`,
		`"Name": "redislua.lock.acquire.duration"`,
		`"Name": "redislua.ratelimit.decisions"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %s", want)
		}
	}
	if n := strings.Count(text, `"Name": "EVALSHA counters/incr.lua"`); n != 2 {
		t.Errorf("%d spans of counters/incr.lua outside pipelines, want 2", n)
	}
	if strings.Contains(text, "INCRBY") {
		t.Error("a span holds the script's source")
	}
}
