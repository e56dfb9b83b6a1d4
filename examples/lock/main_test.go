package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The lock example must keep running against the embedded miniredis, as
// the README promises, and show what it claims: no lost update and
// strictly increasing fences, a hand-off by the release, an expired holder
// unable to release the next holder's lock, and the watchdog.
func TestLockExampleRuns(t *testing.T) {
	t.Setenv("REDIS_ADDR", "")
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"4 workers x 25 increments under the lock: counter 100; fences 1..100, strictly increasing: true",
		"hand-off: a waiter polling every hour got the lock at the release, fence 2 after 1",
		`expired holder's Release: lock: not held: lock "lock-example:expired"`,
		"the next holder still holds the lock: true",
		"after 500ms the 200ms lock is still held: true",
		`watchdog reported: lock: not held: lock "lock-example:watchdog"`,
		`Release after the loss: lock: not held: lock "lock-example:watchdog"`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
