package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The example must keep running against the embedded miniredis and print
// what it promises.
func TestTransferExampleRuns(t *testing.T) {
	t.Setenv("REDIS_ADDR", "")
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"moved 30: alice 70, bob 30",
		`moving 500 refused: transfer: insufficient funds: key "example-transfer:{demo}:alice"`,
		"order-17 attempt 1: applied=true, alice 50, bob 50",
		"order-17 attempt 3: applied=false, alice 50, bob 50",
		"from the int64 maximum, moved 1: alice 9223372036854775806",
		"moving 2 back, past the maximum, refused: transfer: balance would overflow int64",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
