package failover

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/redistest"
	"github.com/redislua/redislua/internal/testbackend"
)

// functions holds testdata/failover_counter.lua, a Redis Functions
// library: failover_incr counts its calls in its key, failover_get reads
// the count (no-writes).
var functions = func() *redislua.Registry {
	reg, err := redislua.NewRegistry(os.DirFS("testdata"), nil)
	if err != nil {
		panic(err)
	}
	return reg
}()

var (
	counterLib  = mustLibrary("failover_counter")
	counterIncr = mustFunction("failover_incr")
	counterGet  = mustFunction("failover_get")
)

func mustLibrary(name string) *redislua.Library {
	l, err := functions.Library(name)
	if err != nil {
		panic(err)
	}
	return l
}

func mustFunction(name string) *redislua.Function {
	f, err := functions.Function(name)
	if err != nil {
		panic(err)
	}
	return f
}

// Eight goroutines call a counting function (INCR) on one key while the
// master is killed and a sentinel promotes the replica, in two cases:
//
//   - "replicated": FUNCTION LOAD reached the replica (Redis replicates
//     it), so the promoted replica has the library and no call needs to
//     load it again;
//   - "cut off": the replica was cut off before the load, so the promoted
//     replica lacks the library: the first calls on it get "ERR Function
//     not found", load it and are sent once more.
//
// Afterwards: every worker's calls succeed again; every error was a
// connection or failover error; no call was counted twice, and none
// acknowledged by the new master is missing (see checkFunctionCount); each
// call sent FCALL once, or twice after "Function not found" (see
// functionTraffic); the new master holds the library's exact code.
func TestSentinelFailoverFunctionCallsRecoverNothingDoubled(t *testing.T) {
	t.Parallel()
	for _, replicated := range []bool{true, false} {
		name := "cut off"
		if replicated {
			name = "replicated"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			functionFailover(t, replicated)
		})
	}
}

func functionFailover(t *testing.T, replicated bool) {
	ctx := context.Background()
	setup := redistest.StartSentinel(t, nil)
	fc := failoverClient(t, setup, 0)
	traffic := &functionTraffic{}
	fc.AddHook(traffic)
	const key = "{failover-fn}:count"
	replica := setup.Replicas[0]

	if !replicated {
		cutOffReplica(t, setup)
	}
	if err := functions.LoadAll(ctx, fc); err != nil {
		t.Fatal(err)
	}
	if replicated {
		waitCaughtUp(t, setup.Master, replica)
	}
	checkLibrary(t, replica.Client(t), counterLib, replicated)
	loadsBefore := traffic.loads.Load()

	w := startFunctionWorkload(t, fc, counterIncr, key)
	waitFor(t, 10*time.Second, "every worker to succeed 10 times before the kill", func() bool { return allAtLeast(w.okBefore, 10) })
	kill := killUnderLoad(t, setup, &w.workload, key)
	waitFor(t, 30*time.Second, "every worker to succeed 20 times after the kill", func() bool { return allAtLeast(w.okAfter, 20) })
	w.stop()

	recovered := w.recovered()
	t.Logf("master killed; every worker succeeded again %v after the kill; every sentinel reported the new master after %v",
		recovered.Sub(kill.killed).Round(time.Millisecond), kill.promoted.Sub(kill.killed).Round(time.Millisecond))
	w.errs.check(t)
	direct := replica.Client(t)
	lost := checkFunctionCount(t, direct, key, w, kill)
	checkLibrary(t, direct, counterLib, true)

	calls, fcalls, notFound, loads := w.calls.Load(), traffic.fcalls.Load(), traffic.notFound.Load(), traffic.loads.Load()-loadsBefore
	if fcalls < calls || fcalls > calls+notFound {
		t.Errorf("%d calls sent FCALL %d times after %d \"Function not found\" replies: want once per call, plus at most one per such reply", calls, fcalls, notFound)
	}
	switch {
	case replicated && (notFound != 0 || loads != 0):
		t.Errorf("the promoted replica had the library, yet calls got %d \"Function not found\" replies and sent %d FUNCTION LOAD", notFound, loads)
	case !replicated && (notFound == 0 || loads == 0):
		t.Errorf("the promoted replica lacked the library, yet calls got %d \"Function not found\" replies and sent %d FUNCTION LOAD; want both", notFound, loads)
	}
	t.Logf("%d calls sent %d FCALL; %d \"Function not found\" replies, %d FUNCTION LOAD after the kill; %d acknowledged increments lost with the old master (asynchronous replication)",
		calls, fcalls, notFound, loads, lost)
}

// A standalone server without persistence restarts: its libraries are
// gone. The next Call gets "ERR Function not found", loads the library and
// runs once (the count, lost with the dataset, is 1 again); the call after
// it sends only FCALL, and the server saw one FUNCTION LOAD.
func TestRestartWithoutPersistenceReloadsFunctionLibrary(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.Start(t)
	// One connection that never retries: the recorder sees each command
	// once, in order.
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, PoolSize: 1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = c.Close() })
	rec := &testbackend.Recorder{}
	c.AddHook(rec)
	const key = "{failover-restart}:count"

	if err := functions.LoadAll(ctx, c); err != nil {
		t.Fatal(err)
	}
	if n, err := counterIncr.Call(ctx, c, []string{key}).Int64(); n != 1 || err != nil {
		t.Fatalf("Call before the restart = %d, %v; want 1", n, err)
	}

	srv.Restart(t) // SHUTDOWN NOSAVE, then a fresh process: no libraries, no keys
	direct := srv.Client(t)
	checkLibrary(t, direct, counterLib, false)
	waitReachable(t, c) // c's connection to the old process is dead
	rec.Take()

	if n, err := counterIncr.Call(ctx, c, []string{key}).Int64(); n != 1 || err != nil {
		t.Fatalf("first Call after the restart = %d, %v; want 1: loaded again, run once", n, err)
	}
	if sent, want := rec.Take(), []string{"fcall", "function", "function", "fcall"}; !slices.Equal(sent, want) {
		t.Errorf("first Call after the restart sent %v, want %v (FCALL, FUNCTION LIST, FUNCTION LOAD, FCALL)", sent, want)
	}
	checkLibrary(t, direct, counterLib, true)
	if n, err := counterIncr.Call(ctx, c, []string{key}).Int64(); n != 2 || err != nil {
		t.Fatalf("second Call after the restart = %d, %v; want 2", n, err)
	}
	if got, err := counterGet.Call(ctx, c, []string{key}).Text(); got != "2" || err != nil {
		t.Fatalf("failover_get = %q, %v; want 2", got, err)
	}
	if sent, want := rec.Take(), []string{"fcall", "fcall_ro"}; !slices.Equal(sent, want) {
		t.Errorf("the calls after the reload sent %v, want %v: no FUNCTION LOAD", sent, want)
	}
	if n := commandCalls(t, direct, "function|load"); n != 1 {
		t.Errorf("the restarted server ran FUNCTION LOAD %d times, want 1", n)
	}
}

// functionTraffic is a go-redis hook that counts the FCALL and FCALL_RO
// commands a client sends, the "ERR Function not found" replies among
// them, and the FUNCTION LOAD commands.
type functionTraffic struct {
	fcalls, notFound, loads atomic.Int64
}

// DialHook passes dials through.
func (h *functionTraffic) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook counts cmd and its reply.
func (h *functionTraffic) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		switch args := cmd.Args(); cmd.Name() {
		case "fcall", "fcall_ro":
			h.fcalls.Add(1)
			if err != nil && strings.HasPrefix(err.Error(), "ERR Function not found") {
				h.notFound.Add(1)
			}
		case "function":
			if len(args) > 1 && strings.EqualFold(fmt.Sprint(args[1]), "load") {
				h.loads.Add(1)
			}
		}
		return err
	}
}

// ProcessPipelineHook passes pipelines through: the tests send none.
func (h *functionTraffic) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// commandCalls returns how many times the server of c ran command (as INFO
// commandstats names it, e.g. "function|load") since it started.
func commandCalls(t *testing.T, c *redis.Client, command string) int64 {
	t.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(info) {
		stats, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_"+command+":")
		if !ok {
			continue
		}
		for field := range strings.SplitSeq(stats, ",") {
			if v, ok := strings.CutPrefix(field, "calls="); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
		}
	}
	return 0
}
