package main

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// serverCounts are what the servers counted since they started: calls of
// the scripting commands (INFO commandstats), error replies by code
// (INFO errorstats) and connections received (INFO stats). They show the other side of the checks: how many
// NOSCRIPT replies Run recovered from, how often a pipeline's EVALSHA
// replaced an EVAL.
type serverCounts struct {
	mu sync.Mutex
	m  map[string]int64
	// missed counts the reads that failed, whose counts are missing.
	missed int
}

// countedCommands are the commands whose calls are summed.
var countedCommands = []string{"eval", "evalsha", "eval_ro", "evalsha_ro", "script|load"}

// collect reads the counters of the server at addr and adds them. A
// restart resets a server's counters, so the injector collects them just
// before it stops one, and verify collects every node at the end.
func (sc *serverCounts) collect(ctx context.Context, addr string) {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	text, err := c.Info(ctx, "commandstats", "errorstats", "stats").Result()
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if err != nil {
		sc.missed++
		return
	}
	if sc.m == nil {
		sc.m = make(map[string]int64)
	}
	for line := range strings.Lines(text) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(name, "errorstat_"):
			if n, ok := field(value, "count"); ok {
				sc.m["error replies "+strings.TrimPrefix(name, "errorstat_")] += n
			}
		case name == "total_connections_received":
			if n, err := strconv.ParseInt(value, 10, 64); err == nil {
				sc.m["connections received"] += n
			}
		case strings.HasPrefix(name, "cmdstat_"):
			cmd := strings.TrimPrefix(name, "cmdstat_")
			if !slices.Contains(countedCommands, cmd) {
				continue
			}
			if n, ok := field(value, "calls"); ok {
				sc.m["calls "+strings.ToUpper(cmd)] += n
			}
		}
	}
}

// field returns the integer of key in "a=1,b=2".
func field(s, key string) (int64, bool) {
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		if ok && k == key {
			n, err := strconv.ParseInt(v, 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// sorted returns the counters by name, and how many reads failed.
func (sc *serverCounts) sorted() (names []string, m map[string]int64, missed int) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return slices.Sorted(maps.Keys(sc.m)), maps.Clone(sc.m), sc.missed
}
