package failover

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/redistest"
	"github.com/redislua/redislua/internal/testbackend"
)

// Eight goroutines move money between hash-tagged accounts with
// transferOnce, each retrying a transfer with the same ID after an error,
// and two take and release a lock, while the master is killed and a
// sentinel promotes the replica. Afterwards: the lock kept its promises
// (see checkLockHolds), the total is exactly conserved, every transfer
// whose record survived moved its amount exactly once and no amount moved
// without its record, calls succeed again shortly after the promotion,
// and every error was a connection or failover error, never NOSCRIPT.
//
// Replication is asynchronous: a transfer acknowledged by the old master
// just before it died may be missing on the new one. The record and the
// move are written by one script, so both are lost or neither: the test
// counts such lost transfers and checks the balances against the records
// that survived, which is what the design guarantees.
func TestSentinelFailoverTransferOnceAndLock(t *testing.T) {
	t.Parallel()
	setup := redistest.StartSentinel(t, nil)
	fc := failoverClient(t, setup, 0)
	keys := seedBank(t, setup)

	w := startBankWorkload(t, fc, keys)
	waitFor(t, 10*time.Second, "every worker to succeed 10 times before the kill", func() bool { return allAtLeast(w.okBefore, 10) })

	kill := killUnderLoad(t, setup, &w.workload, newLock(t, fc, lockKey, 0, 0).fenceKey())
	waitFor(t, 10*time.Second, "every worker to succeed 20 times after the kill", func() bool { return allAtLeast(w.okAfter, 20) })
	w.stop()

	// The last worker's first success after the kill. It may come before
	// WaitForNewMaster, which polls, returns.
	recovered := w.recovered()
	t.Logf("master killed; every worker succeeded again %v after the kill; every sentinel reported the new master after %v",
		recovered.Sub(kill.killed).Round(time.Millisecond), kill.promoted.Sub(kill.killed).Round(time.Millisecond))
	if late := recovered.Sub(kill.promoted); late > 5*time.Second {
		t.Errorf("a worker took %v after the promotion to succeed again, want at most 5s", late)
	}
	checkLockHolds(t, slices.Concat(w.holds...), kill.killed, kill.killDone, kill.replicaFence)
	w.errs.check(t)
	checkBank(t, setup.Replicas[0].Client(t), keys, slices.Concat(w.runs...))
}

// seedBank sets accounts balances to initialBalance on setup's master and
// waits for the replica to have them. It returns their keys.
func seedBank(t *testing.T, setup *redistest.SentinelSetup) []string {
	t.Helper()
	keys := make([]string, accounts)
	pairs := make([]any, 0, 2*accounts)
	for i := range keys {
		keys[i] = fmt.Sprintf("{failover-bank}:acct:%d", i)
		pairs = append(pairs, keys[i], initialBalance)
	}
	// Seed on one connection and WAIT for the replica: WAIT covers the
	// writes of its own connection.
	seed := setup.Master.Client(t).Conn()
	defer seed.Close()
	if err := seed.MSet(context.Background(), pairs...).Err(); err != nil {
		t.Fatal(err)
	}
	if n := waitReplicas(t, seed, 5*time.Second); n != 1 {
		t.Fatalf("WAIT 1 after seeding = %d; want 1", n)
	}
	return keys
}

// masterKill is when a master died under load and its replica took over.
type masterKill struct {
	killed       time.Time // just before the kill
	killDone     time.Time // the process was gone
	promoted     time.Time // every sentinel reported the new master
	replicaFence int64     // the replica's fence counter just before the kill
}

// killUnderLoad reads the replica's counter at fenceKey, kills setup's
// master, marking the time in w, and waits until the sentinels report the
// replica as the new master.
func killUnderLoad(t *testing.T, setup *redistest.SentinelSetup, w *workload, fenceKey string) masterKill {
	t.Helper()
	// The replica's fence counter now: it only grows until the promotion.
	replicaFence, err := setup.Replicas[0].Client(t).Get(context.Background(), fenceKey).Int64()
	if errors.Is(err, redis.Nil) {
		replicaFence, err = 0, nil // no acquisition has reached it yet
	}
	if err != nil {
		t.Fatalf("the replica's fence counter: %v", err)
	}
	k := masterKill{replicaFence: replicaFence}
	old := setup.Master.Addr
	k.killed = w.markKill()
	setup.Master.Kill()
	k.killDone = time.Now()
	newMaster := setup.WaitForNewMaster(t, old, 30*time.Second)
	k.promoted = time.Now()
	if newMaster != setup.Replicas[0].Addr {
		t.Fatalf("new master %s, want the replica %s", newMaster, setup.Replicas[0].Addr)
	}
	return k
}

// After a Sentinel failover the new master's script cache is empty: the
// first Run of each script sends EVALSHA, gets NOSCRIPT and sends one
// EVAL, and the next Run needs only EVALSHA. The caller sees no error.
// The first call on the new master retries a transferOnce that the old
// master applied and replicated, as a caller does whose reply was lost to
// the crash: it finds the record and moves nothing.
func TestSentinelFailoverFirstRunSendsOneEval(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	setup := redistest.StartSentinel(t, nil)
	fc := failoverClient(t, setup, 1) // one connection, for WAIT
	rec := &testbackend.Recorder{}
	fc.AddHook(rec)
	const from, to, id = "{failover-eval}:a", "{failover-eval}:b", "order-1"

	transferBeforeKill(t, setup, fc, from, to, id)
	killMaster(t, setup)
	checkAnsweredByReplica(t, setup, fc)

	rec.Take()
	res, err := transferOnce(ctx, fc, from, to, 10, id)
	if err != nil || res.Applied || res.From != 90 || res.To != 10 {
		t.Fatalf("TransferOnce retried on the new master = %+v, %v; want not applied again, 90 and 10", res, err)
	}
	if sent := rec.Take(); !slices.Equal(sent, []string{"evalsha", "eval"}) {
		t.Errorf("first script call on the new master sent %v, want [evalsha eval]", sent)
	}
	if res, err := move(ctx, fc, from, to, 10); err != nil || res.From != 80 || res.To != 20 {
		t.Fatalf("Transfer on the new master = %+v, %v; want 80 and 20", res, err)
	}
	if sent := rec.Take(); !slices.Equal(sent, []string{"evalsha"}) {
		t.Errorf("second script call on the new master sent %v, want [evalsha]", sent)
	}
	// Per script: the lock's acquire script also needs its one EVAL.
	if ok, err := newLock(t, fc, "{failover-eval}:lock", 0, 0).tryAcquire(ctx); !ok || err != nil {
		t.Fatalf("TryAcquire on the new master = %v, %v", ok, err)
	}
	if sent := rec.Take(); !slices.Equal(sent, []string{"evalsha", "eval"}) {
		t.Errorf("first TryAcquire on the new master sent %v, want [evalsha eval]", sent)
	}
}

// transferBeforeKill seeds from with 100, moves 10 to to with transferOnce
// under id, waits for the replica to have it, and checks that only the
// master has the transfer script cached, and neither the lock's.
func transferBeforeKill(t *testing.T, setup *redistest.SentinelSetup, fc *redis.Client, from, to, id string) {
	t.Helper()
	ctx := context.Background()
	if err := fc.Set(ctx, from, 100, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if res, err := transferOnce(ctx, fc, from, to, 10, id); err != nil || !res.Applied {
		t.Fatalf("TransferOnce on the old master = %+v, %v; want applied", res, err)
	}
	if n := waitReplicas(t, fc, 5*time.Second); n != 1 {
		t.Fatalf("WAIT 1 = %d; want 1", n)
	}
	oldMaster, replica := setup.Master.Client(t), setup.Replicas[0].Client(t)
	for _, s := range []*redislua.Script{transferScript, lockAcquireScript} {
		want := s == transferScript
		if ok, err := s.Exists(ctx, oldMaster); ok != want || err != nil {
			t.Fatalf("%s cached on the master = %v, %v; want %v", s.Name(), ok, err, want)
		}
		if ok, err := s.Exists(ctx, replica); ok || err != nil {
			t.Fatalf("%s cached on the replica = %v, %v; want false", s.Name(), ok, err)
		}
	}
}
