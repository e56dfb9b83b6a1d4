package failover

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
)

// The keys of TestSentinelFailoverLockAndFencing.
const (
	keptLock, keptDoc = "{failover-fence}:kept", "{failover-fence}:kept-doc"
	lostLock, lostDoc = "{failover-fence}:lost", "{failover-fence}:lost-doc"
	keptTTL           = 8 * time.Second // outlasts the failover, which takes 2-4s
)

// What a lock on one Redis master promises across a failover, and what
// fencedSet adds. Replication is asynchronous, so whether an acquisition
// survives the master's death depends on whether it reached the replica
// first; the test makes both cases deterministic:
//
//   - Lock "kept" is acquired by A and reaches the replica (WAIT 1 says
//     1). After the failover the new master still has it, with its
//     expiry: B cannot take it until A's TTL runs out. Then B gets a
//     higher fence, writes with fencedSet, and A, a stale holder that
//     paused past its TTL, is refused.
//   - Then the replica is cut off (the master refuses it PSYNC and drops
//     its link), as a lagging replica would be. Lock "lost" is acquired by
//     C, which WAIT could tell: 0 replicas have it. After the failover
//     the key and its fence increment are gone, since one script wrote
//     both: D takes the lock at once, while C still believes it holds it,
//     with the same fence as C. fencedSet accepts an equal fence, so it
//     cannot tell C's writes from D's. C learns of the loss only at its
//     next Refresh, Release or TTL call.
func TestSentinelFailoverLockAndFencing(t *testing.T) {
	t.Parallel()
	f := &fencing{t: t, ctx: context.Background(), setup: redistest.StartSentinel(t, nil)}
	// One connection per holder, so that WAIT, which waits for the
	// writes of its own connection, covers the holder's acquisition.
	f.ca, f.cb, f.cc, f.cd = f.client(), f.client(), f.client(), f.client()

	f.holdKept()
	cutOffReplica(t, f.setup)
	f.holdLost()
	if addr := killMaster(t, f.setup); addr != f.setup.Replicas[0].Addr {
		t.Fatalf("new master %s, want the replica %s", addr, f.setup.Replicas[0].Addr)
	}
	checkAnsweredByReplica(t, f.setup, f.ca, f.cb, f.cc, f.cd)
	f.checkKeptSurvived()
	f.checkLostReissued()
}

// fencing is the state of TestSentinelFailoverLockAndFencing: holders A,
// B, C and D, each with its own client.
type fencing struct {
	t              *testing.T
	ctx            context.Context
	setup          *redistest.SentinelSetup
	ca, cb, cc, cd *redis.Client
	lockA, lockC   *testLock
	fenceA, fenceC int64
	sentA          time.Time // A's TTL starts after this, on the same clock
}

func (f *fencing) client() *redis.Client { return failoverClient(f.t, f.setup, 1) }

// holdKept has A take "kept", and a first holder take and release "lost",
// leaving its fence counter at 1; both reach the replica.
func (f *fencing) holdKept() {
	t := f.t
	t.Helper()
	f.lockA = newLock(t, f.ca, keptLock, keptTTL, 0)
	f.sentA = time.Now()
	if ok, err := f.lockA.tryAcquire(f.ctx); !ok || err != nil {
		t.Fatalf("A: TryAcquire = %v, %v", ok, err)
	}
	f.fenceA = f.lockA.fence()
	first := newLock(t, f.cc, lostLock, time.Minute, 0)
	if ok, err := first.tryAcquire(f.ctx); !ok || err != nil {
		t.Fatalf("first holder of %s: TryAcquire = %v, %v", lostLock, ok, err)
	}
	if err := first.release(f.ctx); err != nil {
		t.Fatal(err)
	}
	if n := waitReplicas(t, f.ca, 5*time.Second); n != 1 {
		t.Fatalf("WAIT 1 after A's acquisition = %d, want 1", n)
	}
	if n := waitReplicas(t, f.cc, 5*time.Second); n != 1 {
		t.Fatalf("WAIT 1 after the first holder's release = %d, want 1", n)
	}
}

// holdLost has C take "lost", which cannot reach the replica.
func (f *fencing) holdLost() {
	t := f.t
	t.Helper()
	f.lockC = newLock(t, f.cc, lostLock, time.Minute, 0)
	if ok, err := f.lockC.tryAcquire(f.ctx); !ok || err != nil {
		t.Fatalf("C: TryAcquire = %v, %v", ok, err)
	}
	f.fenceC = f.lockC.fence()
	if f.fenceC != 2 {
		t.Fatalf("C's fence = %d, want 2", f.fenceC)
	}
	if n := waitReplicas(t, f.cc, 100*time.Millisecond); n != 0 {
		t.Fatalf("WAIT 1 after C's acquisition = %d, want 0: the replica is cut off", n)
	}
}

// checkKeptSurvived checks that the replicated lock survived, with its
// expiry: B gets it only after A's TTL, with a higher fence, and A's
// stale write is refused.
func (f *fencing) checkKeptSurvived() {
	t, ctx := f.t, f.ctx
	t.Helper()
	newMaster := f.setup.Replicas[0].Client(t)
	left, err := newMaster.PTTL(ctx, keptLock).Result()
	if err != nil || left < time.Second {
		t.Fatalf("PTTL %s on the new master = %v, %v; want over 1s left (the failover took %v of the %v TTL)",
			keptLock, left, err, time.Since(f.sentA), keptTTL)
	}
	lockB := newLock(t, f.cb, keptLock, keptTTL, 50*time.Millisecond)
	if ok, err := lockB.tryAcquire(ctx); ok || err != nil {
		t.Fatalf("B: TryAcquire while A's replicated lock lives = %v, %v; want false, nil", ok, err)
	}
	actx, cancel := context.WithTimeout(ctx, keptTTL+5*time.Second)
	defer cancel()
	if err := lockB.acquire(actx); err != nil {
		t.Fatalf("B: Acquire after A's TTL = %v", err)
	}
	if waited := time.Since(f.sentA); waited < keptTTL {
		t.Errorf("B acquired %v after A, before A's %v TTL ran out", waited, keptTTL)
	}
	fenceB := lockB.fence()
	if fenceB <= f.fenceA {
		t.Fatalf("B's fence %d is not above A's %d", fenceB, f.fenceA)
	}
	if ok, err := fencedSet(ctx, f.cb, keptDoc, "B", fenceB); !ok || err != nil {
		t.Fatalf("B: FencedSet(fence %d) = %v, %v; want true", fenceB, ok, err)
	}
	// A wakes up from a pause past its TTL and writes: refused.
	if ok, err := fencedSet(ctx, f.ca, keptDoc, "A", f.fenceA); ok || err != nil {
		t.Fatalf("stale A: FencedSet(fence %d) = %v, %v; want false, nil", f.fenceA, ok, err)
	}
	if err := f.lockA.refresh(ctx); !errors.Is(err, errNotHeld) {
		t.Errorf("stale A: Refresh = %v, want ErrNotHeld", err)
	}
	if got := newMaster.Get(ctx, keptDoc).Val(); got != "B" {
		t.Errorf("%s = %q, want B's write", keptDoc, got)
	}
}

// checkLostReissued checks that the unreplicated lock is gone, with its
// fence increment: D takes it at once and gets C's fence again, and C's
// write with that fence is accepted too.
func (f *fencing) checkLostReissued() {
	t, ctx := f.t, f.ctx
	t.Helper()
	lockD := newLock(t, f.cd, lostLock, time.Minute, 0)
	if ok, err := lockD.tryAcquire(ctx); !ok || err != nil {
		t.Fatalf("D: TryAcquire of the lock lost in the failover = %v, %v; want true", ok, err)
	}
	if !f.lockC.believesHeld() {
		t.Fatal("C no longer believes it holds the lock")
	}
	if fenceD := lockD.fence(); fenceD != f.fenceC {
		t.Fatalf("D's fence = %d, want C's %d again: the increment was lost with the key", fenceD, f.fenceC)
	}
	if ok, err := fencedSet(ctx, f.cd, lostDoc, "D", lockD.fence()); !ok || err != nil {
		t.Fatalf("D: FencedSet = %v, %v; want true", ok, err)
	}
	// Equal fences are accepted, so C's write goes through as well: a
	// fence cannot protect against a lost acquisition.
	if ok, err := fencedSet(ctx, f.cc, lostDoc, "C", f.fenceC); !ok || err != nil {
		t.Fatalf("C: FencedSet with the fence D also holds = %v, %v; want true (equal fences are accepted)", ok, err)
	}
	if err := f.lockC.refresh(ctx); !errors.Is(err, errNotHeld) {
		t.Errorf("C: Refresh after the failover = %v, want ErrNotHeld", err)
	}
	if err := f.lockC.release(ctx); !errors.Is(err, errNotHeld) {
		t.Errorf("C: Release after the failover = %v, want ErrNotHeld", err)
	}
	if err := lockD.release(ctx); err != nil {
		t.Errorf("D: Release = %v", err)
	}
}
