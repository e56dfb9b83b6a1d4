package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// The quick start must keep running against the embedded miniredis, as the
// README promises, and print what it claims: the transfers' balances, also
// after SCRIPT FLUSH and in a pipeline, the script's own error reply, a
// misspelt local refused at start-up, and a run-time error naming the file
// and line.
func TestQuickstartRuns(t *testing.T) {
	t.Setenv("REDIS_ADDR", "")
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
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
