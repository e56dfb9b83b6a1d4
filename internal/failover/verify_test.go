package failover

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
)

// checkLockHolds fails t unless holds, the acquisitions of one lock key
// through a master failover, keep what a lock promises (see the lock's
// documentation and README, "What a lock promises across a failover"):
//
//   - Critical sections do not overlap, unless the earlier holder had been
//     counted lost by the end of its section (it ran past its local
//     deadline), or the earlier one began before the master died (by
//     killDone) and the later one after it began dying (killedAt): an
//     acquisition lost in the failover.
//   - On each master, fences are distinct, and strictly increase in the
//     order of the sections of holders not counted lost.
//   - Every fence issued by the new master is above replicaFence, the
//     counter the replica had before the kill: a failover may issue again
//     only fences of acquisitions that had not reached the replica.
func checkLockHolds(t *testing.T, holds []lockHold, killedAt, killDone time.Time, replicaFence int64) {
	t.Helper()
	slices.SortFunc(holds, func(a, b lockHold) int { return a.acquired.Compare(b.acquired) })
	checkNoOverlap(t, holds, killedAt, killDone)
	var oldMaster, newMaster []lockHold
	for _, h := range holds {
		switch {
		case h.acquired.Before(killedAt):
			oldMaster = append(oldMaster, h)
		case h.sent.After(killDone):
			newMaster = append(newMaster, h)
		}
	}
	if len(oldMaster) == 0 || len(newMaster) == 0 {
		t.Fatalf("%d acquisitions on the old master, %d on the new one: want some on each", len(oldMaster), len(newMaster))
	}
	checkFences(t, "old", oldMaster)
	checkFences(t, "new", newMaster)
	for _, h := range newMaster {
		if h.fence <= replicaFence {
			t.Errorf("the new master issued fence %d, want above %d, the replica's counter before the kill", h.fence, replicaFence)
			break
		}
	}
	reissued := 0
	for _, h := range oldMaster {
		if h.fence > replicaFence {
			reissued++
		}
	}
	t.Logf("lock: %d acquisitions on the old master (fences %d..%d, %d of them above the replica's counter %d just before the kill, so possibly lost), %d on the new one (from fence %d)",
		len(oldMaster), oldMaster[0].fence, oldMaster[len(oldMaster)-1].fence, reissued, replicaFence, len(newMaster), newMaster[0].fence)
}

// checkNoOverlap fails t if two of holds, sorted by acquisition, overlap
// but for the exceptions checkLockHolds names.
func checkNoOverlap(t *testing.T, holds []lockHold, killedAt, killDone time.Time) {
	t.Helper()
	overlaps := 0
	for i, x := range holds {
		for _, y := range holds[i+1:] {
			if !y.acquired.Before(x.ended) {
				break
			}
			inFailover := x.acquired.Before(killDone) && y.acquired.After(killedAt)
			if x.lost || inFailover {
				continue
			}
			if overlaps++; overlaps <= 5 {
				t.Errorf("fence %d acquired %v into the section of fence %d, which had not been counted lost, outside the failover",
					y.fence, y.acquired.Sub(x.acquired), x.fence)
			}
		}
	}
	if overlaps > 5 {
		t.Errorf("%d overlapping critical sections in all", overlaps)
	}
}

// checkFences fails t unless the fences of holds, the acquisitions on the
// named master in order, are distinct and, for holders not counted lost,
// strictly increasing.
func checkFences(t *testing.T, master string, holds []lockHold) {
	t.Helper()
	seen := make(map[int64]bool, len(holds))
	var repeated, unordered []string
	var last *lockHold
	for i, h := range holds {
		if seen[h.fence] {
			repeated = append(repeated, strconv.FormatInt(h.fence, 10))
		}
		seen[h.fence] = true
		if h.lost {
			continue
		}
		if last != nil && h.fence <= last.fence {
			unordered = append(unordered, fmt.Sprintf("%d after %d", h.fence, last.fence))
		}
		last = &holds[i]
	}
	if len(repeated) > 0 {
		t.Errorf("the %s master issued %d fences again: %.200s", master, len(repeated), strings.Join(repeated, ", "))
	}
	if len(unordered) > 0 {
		t.Errorf("on the %s master, %d fences were not above the one before: %.200s", master, len(unordered), strings.Join(unordered, ", "))
	}
}

// transferTally counts what became of the logical transfers.
type transferTally struct {
	retried        int // needed more than one call
	alreadyApplied int // a retry found it applied (Applied false)
	lost           int // acknowledged, but its record did not survive
	unacknowledged int // never acknowledged, but its record survived
	givenUp        int // never acknowledged within transferDeadline
}

// checkBank fails t unless the balances on the new master (direct) add up
// to what was seeded and equal the initial ones plus exactly the moves of
// the transfer records that survived: no transfer moved twice, none moved
// without its record. Every transfer must have been acknowledged, and
// Applied true on its first call.
func checkBank(t *testing.T, direct *redis.Client, keys []string, all []transferRun) {
	t.Helper()
	got := readInts(t, direct, keys...)
	var sum int64
	for _, n := range got {
		sum += n
	}
	if sum != accounts*initialBalance {
		t.Errorf("sum of balances = %d, want %d: money was created or destroyed", sum, accounts*initialBalance)
	}
	want, tally := replayRecords(t, keys, all, survivingRecords(t, direct, keys, all))
	if !slices.Equal(got, want) {
		t.Errorf("balances %v, want %v from the %d surviving transfer records", got, want, len(all)-tally.lost-tally.givenUp+tally.unacknowledged)
	}
	if tally.givenUp > 0 {
		t.Errorf("%d transfers never succeeded within %v of retries", tally.givenUp, transferDeadline)
	}
	t.Logf("%d logical transfers, %d retried after an error, %d retries found the transfer already applied (Applied false); "+
		"%d acknowledged transfers lost with the old master (asynchronous replication), %d applied without an acknowledgement",
		len(all), tally.retried, tally.alreadyApplied, tally.lost, tally.unacknowledged)
}

// survivingRecords reports, for each of all, whether its transfer record
// exists on direct.
func survivingRecords(t *testing.T, direct *redis.Client, keys []string, all []transferRun) []bool {
	t.Helper()
	ctx := context.Background()
	pipe := direct.Pipeline()
	exists := make([]*redis.IntCmd, len(all))
	for i, r := range all {
		exists[i] = pipe.Exists(ctx, transferRecordKey(keys[r.from], r.id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	survived := make([]bool, len(all))
	for i := range exists {
		survived[i] = exists[i].Val() == 1
	}
	return survived
}

// replayRecords returns the balances that the surviving transfers make of
// the initial ones, and tallies all; it fails t on a transfer whose first
// call reported Applied false.
func replayRecords(t *testing.T, keys []string, all []transferRun, survived []bool) ([]int64, transferTally) {
	t.Helper()
	want := make([]int64, len(keys))
	for i := range want {
		want[i] = initialBalance
	}
	var n transferTally
	for i, r := range all {
		if survived[i] {
			want[r.from] -= r.amount
			want[r.to] += r.amount
		}
		if r.calls > 1 {
			n.retried++
		}
		switch {
		case !r.done:
			n.givenUp++
		case r.calls == 1 && !r.applied:
			t.Errorf("transfer %s: its first call reported Applied false", r.id)
		case !r.applied:
			n.alreadyApplied++ // an earlier call, whose reply was lost, had applied it
		}
		if r.done && !survived[i] {
			n.lost++
		}
		if !r.done && survived[i] {
			n.unacknowledged++
		}
	}
	return want, n
}

// checkTags fails t unless each tag's two balances still add up (a
// transfer is one script: lost or kept whole), no counter ran more often
// than it was called, and counters on the surviving masters hold every
// acknowledged increment. It returns how many acknowledged increments the
// killed master's counters lost.
func checkTags(t *testing.T, cc *redis.ClusterClient, tags []*clusterTag) (lost int64) {
	t.Helper()
	for _, tg := range tags {
		n := readInts(t, cc, tg.a, tg.b, tg.counter)
		if n[0]+n[1] != 2*initialBalance {
			t.Errorf("%s + %s = %d, want %d", tg.a, tg.b, n[0]+n[1], 2*initialBalance)
		}
		calls, acked := tg.calls.Load(), tg.acked.Load()
		if n[2] > calls {
			t.Errorf("%s = %d after %d calls: a script ran twice", tg.counter, n[2], calls)
		}
		switch {
		case !tg.victim && n[2] < acked:
			t.Errorf("%s = %d on a surviving master, want at least the %d acknowledged increments", tg.counter, n[2], acked)
		case tg.victim && n[2] < acked:
			lost += acked - n[2]
		}
	}
	return lost
}

// readInts reads keys with MGET and fails t unless each holds an integer.
func readInts(t *testing.T, c redis.Cmdable, keys ...string) []int64 {
	t.Helper()
	vals, err := c.MGet(context.Background(), keys...).Result()
	if err != nil {
		t.Fatal(err)
	}
	got := make([]int64, len(keys))
	for i, v := range vals {
		s, _ := v.(string)
		if got[i], err = strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatalf("%s = %v, want an integer", keys[i], v)
		}
	}
	return got
}

// checkFunctionCount fails t unless the counter at key on the new master
// (direct) is what the calls of w can have made of it across kill:
//
//   - At most the acknowledged calls plus those whose outcome is unknown
//     (they failed): no call was counted twice.
//   - At least the replica's count just before the kill plus every call
//     acknowledged that was sent once the old master was gone: each of
//     those ran on the new master, and only replication, which is
//     asynchronous, may lose the old master's last increments.
//
// It returns how many acknowledged increments were lost with the old
// master.
func checkFunctionCount(t *testing.T, direct *redis.Client, key string, w *functionWorkload, kill masterKill) (lost int64) {
	t.Helper()
	got := readInts(t, direct, key)[0]
	acked, failed := w.acked.Load(), w.failed.Load()
	if got > acked+failed {
		t.Errorf("%s = %d after %d acknowledged calls and %d failed ones: a call was counted twice", key, got, acked, failed)
	}
	onNew := w.ackedSentAfter(kill.killDone)
	if floor := kill.replicaFence + onNew; got < floor {
		t.Errorf("%s = %d, want at least %d: the replica's %d before the kill and the %d calls acknowledged by the new master",
			key, got, floor, kill.replicaFence, onNew)
	}
	t.Logf("%s = %d: %d calls acknowledged (%d sent after the kill), %d failed; the replica had %d before the kill",
		key, got, acked, onNew, failed, kill.replicaFence)
	return max(0, acked-got)
}

// checkLibrary fails t unless the server of c holds lib with its exact
// code (want true), or has no library of that name (want false).
func checkLibrary(t *testing.T, c *redis.Client, lib *redislua.Library, want bool) {
	t.Helper()
	libs, err := c.FunctionList(context.Background(), redis.FunctionListQuery{LibraryNamePattern: lib.Name(), WithCode: true}).Result()
	if err != nil {
		t.Fatalf("FUNCTION LIST on %s: %v", c.Options().Addr, err)
	}
	switch {
	case want && (len(libs) != 1 || libs[0].Code != lib.Source()):
		t.Fatalf("%s holds %d libraries named %s, want it with the registry's code", c.Options().Addr, len(libs), lib.Name())
	case !want && len(libs) != 0:
		t.Fatalf("%s holds library %s, want none", c.Options().Addr, lib.Name())
	}
}
