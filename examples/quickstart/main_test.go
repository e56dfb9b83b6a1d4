package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/redislua/redislua/internal/redistest"
)

// The quick start must keep running against the embedded miniredis, as the
// README promises, and print what it claims: the transfers' balances, also
// after SCRIPT FLUSH and in a pipeline, the script's own error reply, a
// misspelt local refused at start-up, and a run-time error naming the file
// and line.
func TestQuickstartRuns(t *testing.T) {
	t.Setenv("REDIS_ADDR", "")
	var out bytes.Buffer
	if err := run(context.Background(), &out, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"transfer 30: quickstart:{alice}:checking now 70\n",
		"transfer 20 after SCRIPT FLUSH: quickstart:{alice}:checking now 50\n",
		"balances in one pipeline: 50 and 50\n",
		"transfer 1000: INSUFFICIENT balance 50 is below 1000\n",
		`a misspelt local, refused at start-up: redislua: visits:2:8: undefined-global undefined global "totl"`,
		"a run-time error, reported as: redislua: incr.lua:6: value is not an integer or out of range\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	loaded := regexp.MustCompile(`(?m)^loaded script (\w+) +sha1 [0-9a-f]{40} read-only=(\w+)$`).FindAllStringSubmatch(out.String(), -1)
	var got []string
	for _, m := range loaded {
		got = append(got, m[1]+" read-only="+m[2])
	}
	if want := "[balance read-only=true incr read-only=false transfer read-only=false]"; fmt.Sprint(got) != want {
		t.Errorf("loaded scripts %v, want %s", got, want)
	}
}

// On a server of the user's, the quick start keeps the server's script
// cache unless -flush asks, leaves no key behind, and touches no key that
// was there before it.
func TestQuickstartLeavesAServerAsItFoundIt(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	t.Setenv("REDIS_ADDR", srv.Addr)

	theirs := "return 'a script of the server owner'"
	sha, err := rdb.ScriptLoad(ctx, theirs).Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, "their:key", "kept", 0).Err(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(ctx, &out, false); err != nil {
		t.Fatal(err)
	}
	if want := "transfer 20 (SCRIPT FLUSH skipped on your server: -flush runs it): quickstart:{alice}:checking now 50\n"; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	if cached, err := rdb.ScriptExists(ctx, sha).Result(); err != nil || !cached[0] {
		t.Errorf("the server's own script left the cache without -flush: %v, %v", cached, err)
	}
	if keys, err := rdb.Keys(ctx, "*").Result(); err != nil || fmt.Sprint(keys) != "[their:key]" {
		t.Errorf("keys after the run = %v, %v; want only their:key", keys, err)
	}

	// Keys of its own already there: it refuses, and changes nothing.
	if err := rdb.Set(ctx, toKey, "someone's", 0).Err(); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, &out, false); err == nil || !strings.Contains(err.Error(), "delete them or use another server") {
		t.Errorf("run with %s present = %v, want a refusal", toKey, err)
	}
	if v, err := rdb.Get(ctx, toKey).Result(); err != nil || v != "someone's" {
		t.Errorf("%s = %q, %v after the refusal; want it untouched", toKey, v, err)
	}
	if err := rdb.Del(ctx, toKey).Err(); err != nil {
		t.Fatal(err)
	}

	// With -flush, the demonstration runs on the server too.
	out.Reset()
	if err := run(ctx, &out, true); err != nil {
		t.Fatal(err)
	}
	if want := "transfer 20 after SCRIPT FLUSH: quickstart:{alice}:checking now 50\n"; !strings.Contains(out.String(), want) {
		t.Errorf("output with -flush lacks %q:\n%s", want, out.String())
	}
	if cached, err := rdb.ScriptExists(ctx, sha).Result(); err != nil || cached[0] {
		t.Errorf("with -flush the script cache was not flushed: %v, %v", cached, err)
	}
}
