package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// The example must keep running against the embedded miniredis and print
// what it promises.
func TestListsumExampleRuns(t *testing.T) {
	t.Setenv("REDIS_ADDR", "")
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"script stats from stats.lua, read-only=true",
		"pushed [3 4 5]: list length 3, sum 12",
		"pushed [10 -2]: list length 5, sum 20",
		"list [3 4 5 10 -2], sum 20",
		"pushing 7 onto a sum of MaxInt64-1: redislua: push.lua:19: increment or decrement would overflow",
		"list [3 4 5 10 -2], sum 9223372036854775806 (unchanged)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// push checks the list's type before it adds to the sum, so a failed push
// changes nothing.
func TestPushChangesNothingOnWrongType(t *testing.T) {
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	reg, err := newRegistry()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rdb.Set(ctx, listKey, "not a list", 0)
	if _, _, err := push(ctx, reg, rdb, 1, 2); err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Fatalf("push onto a string = %v, want WRONGTYPE", err)
	}
	if m.Exists(sumKey) {
		t.Errorf("the sum was written by a failed push")
	}
	if _, _, err := push(ctx, reg, rdb, 9223372036854775807, 1); !errors.Is(err, errSumOverflow) {
		t.Errorf("push of numbers whose total overflows = %v, want errSumOverflow", err)
	}
}
