package redislua

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/internal/redistest"
	"github.com/redislua/redislua/internal/testbackend"
)

// The tests in this file kill a master process under load: behind Redis
// Sentinel (a master, a replica, three sentinels) and in a Redis Cluster
// with a replica per master. Each starts its own servers, so they run in
// parallel. A promoted replica starts with an empty script cache (Redis
// replicates a script's effects, not the script), so every one of them
// also checks that the caller never sees NOSCRIPT.

// failoverClient returns a client that asks setup's sentinels for the
// master. It does not retry (MaxRetries -1): every error reaches the
// caller, which decides whether to retry, so that nothing is sent twice
// behind its back, and short timeouts make calls to the dead master fail
// fast. poolSize 0 means go-redis's default.
func failoverClient(t *testing.T, setup *redistest.SentinelSetup, poolSize int) *redis.Client {
	t.Helper()
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    setup.MasterName,
		SentinelAddrs: setup.SentinelAddrs(),
		MaxRetries:    -1,
		DialTimeout:   200 * time.Millisecond,
		ReadTimeout:   500 * time.Millisecond,
		WriteTimeout:  500 * time.Millisecond,
		PoolTimeout:   time.Second,
		PoolSize:      poolSize,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// failoverErrorClass names the kind of an error a caller may see while a
// master fails over, "NOSCRIPT" for the one it must never see, and "" for
// an error that has no business there.
func failoverErrorClass(err error) string {
	msg := err.Error()
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.Is(err, ErrNoScript) || strings.Contains(msg, "NOSCRIPT"):
		return "NOSCRIPT"
	case errors.Is(err, ErrNotAcquired):
		return "lock not acquired (held, or the wait timed out)"
	case errors.Is(err, ErrNotHeld):
		return "lock not held (expired or lost)"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "deadline exceeded"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, redis.ErrClosed):
		return "connection closed (redis.ErrClosed)"
	case errors.Is(err, redis.ErrPoolTimeout):
		return "pool timeout"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "network timeout"
	case errors.As(err, &opErr):
		return "network error"
	}
	for _, prefix := range []string{"READONLY", "LOADING", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "MOVED", "ASK"} {
		// Anywhere in the text: the library wraps server errors.
		if strings.HasPrefix(msg, prefix+" ") || strings.Contains(msg, ": "+prefix+" ") {
			return prefix
		}
	}
	if strings.Contains(msg, "all sentinels specified in configuration are unreachable") {
		return "sentinels unreachable"
	}
	return ""
}

// errTally counts the errors seen during a failover by class, keeping an
// example of each class and every error of no known class.
type errTally struct {
	mu         sync.Mutex
	byClass    map[string]int
	example    map[string]string
	unexpected []string
}

func (e *errTally) add(err error) {
	class := failoverErrorClass(err)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.byClass == nil {
		e.byClass, e.example = make(map[string]int), make(map[string]string)
	}
	if class == "" {
		if len(e.unexpected) < 20 {
			e.unexpected = append(e.unexpected, fmt.Sprintf("%T: %v", err, err))
		}
		class = "unexpected"
	}
	e.byClass[class]++
	if _, ok := e.example[class]; !ok {
		e.example[class] = err.Error()
	}
}

// check fails t on NOSCRIPT or an error of no known class, and logs the
// count of each class with an example.
func (e *errTally) check(t *testing.T) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	classes := make([]string, 0, len(e.byClass))
	for class := range e.byClass {
		classes = append(classes, class)
	}
	slices.Sort(classes)
	var b strings.Builder
	for _, class := range classes {
		fmt.Fprintf(&b, "\n  %5d %s, e.g. %.160s", e.byClass[class], class, e.example[class])
	}
	t.Logf("errors during the failover:%s", b.String())
	if n := e.byClass["NOSCRIPT"]; n > 0 {
		t.Errorf("%d calls surfaced NOSCRIPT, e.g. %s", n, e.example["NOSCRIPT"])
	}
	if len(e.unexpected) > 0 {
		t.Errorf("errors of no failover kind:\n  %s", strings.Join(e.unexpected, "\n  "))
	}
}

// waitReachable pings c until it answers, so that a client used before a
// failover has dropped its connections to the dead master before a check.
func waitReachable(t *testing.T, c *redis.Client) {
	t.Helper()
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err = c.Ping(context.Background()).Err(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("client not reachable 10s after the failover: %v", err)
}

// serverPort returns the port of the server c is connected to (INFO
// server), to tell which process answers.
func serverPort(t *testing.T, c *redis.Client) int {
	t.Helper()
	info, err := c.Info(context.Background(), "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "tcp_port:"); ok {
			port, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			return port
		}
	}
	t.Fatalf("INFO server names no tcp_port:\n%s", info)
	return 0
}

// transferRun is one logical transfer of the Sentinel workload, retried
// with the same ID until a call succeeds.
type transferRun struct {
	id       string
	from, to int // account indexes
	amount   int64
	calls    int  // TransferOnce calls made with this ID
	done     bool // a call returned without error
	applied  bool // Applied of that call
}

// lockHold is one acquisition of the Sentinel workload's lock: its fence,
// when its critical section began and ended (local monotonic time), and
// whether the Lock had counted it lost by the end.
type lockHold struct {
	fence           int64
	sent            time.Time // Acquire was called
	acquired, ended time.Time
	lost            bool
}

// checkLockHolds fails t unless holds, the acquisitions of one lock key
// through a master failover, keep what a Lock promises (see Lock and
// README, "What a lock promises across a failover"):
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
//
// An acquisition that returned before killedAt was served by the old
// master, one sent after killDone by the new one; those in between are
// checked for overlaps only.
func checkLockHolds(t *testing.T, holds []lockHold, killedAt, killDone time.Time, replicaFence int64) {
	t.Helper()
	slices.SortFunc(holds, func(a, b lockHold) int { return a.acquired.Compare(b.acquired) })
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
	for _, epoch := range []struct {
		name  string
		holds []lockHold
	}{{"old", oldMaster}, {"new", newMaster}} {
		seen := make(map[int64]bool, len(epoch.holds))
		var repeated, unordered []string
		var last *lockHold
		for i, h := range epoch.holds {
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
			last = &epoch.holds[i]
		}
		if len(repeated) > 0 {
			t.Errorf("the %s master issued %d fences again: %.200s", epoch.name, len(repeated), strings.Join(repeated, ", "))
		}
		if len(unordered) > 0 {
			t.Errorf("on the %s master, %d fences were not above the one before: %.200s", epoch.name, len(unordered), strings.Join(unordered, ", "))
		}
	}
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

// Eight goroutines move money between hash-tagged accounts with
// TransferOnce, each retrying a transfer with the same ID after an error,
// and two take and release a lock, while the master is killed and a
// sentinel promotes the replica. Afterwards: the lock kept its promises
// (see checkLockHolds), the total is exactly
// conserved, every transfer whose record survived moved its amount exactly
// once and no amount moved without its record, calls succeed again shortly
// after the promotion, and every error was a connection or failover error,
// never NOSCRIPT.
//
// Replication is asynchronous: a transfer acknowledged by the old master
// just before it died may be missing on the new one. The record and the
// move are written by one script, so both are lost or neither: the test
// counts such lost transfers and checks the balances against the records
// that survived, which is what the design guarantees.
func TestSentinelFailoverTransferOnceAndLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	setup := redistest.StartSentinel(t, nil)
	fc := failoverClient(t, setup, 0)

	const (
		accounts         = 8
		initial          = 1_000_000
		transferWorkers  = 8
		lockWorkers      = 2
		transferDeadline = 15 * time.Second // per logical transfer, across its retries
		retryPause       = 20 * time.Millisecond
	)
	keys := make([]string, accounts)
	pairs := make([]any, 0, 2*accounts)
	for i := range keys {
		keys[i] = fmt.Sprintf("{failover-bank}:acct:%d", i)
		pairs = append(pairs, keys[i], initial)
	}
	// Seed on one connection and WAIT for the replica: WAIT covers the
	// writes of its own connection.
	seed := setup.Master.Client(t).Conn()
	defer seed.Close()
	if err := seed.MSet(ctx, pairs...).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := seed.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 after seeding = %d, %v; want 1", n, err)
	}

	var (
		errs      errTally
		stop      atomic.Bool
		killedAt  atomic.Int64 // UnixNano of the kill; 0 before
		wg        sync.WaitGroup
		runs      = make([][]transferRun, transferWorkers)
		okBefore  = make([]atomic.Int64, transferWorkers+lockWorkers)
		okAfter   = make([]atomic.Int64, transferWorkers+lockWorkers)
		firstOK   = make([]atomic.Int64, transferWorkers+lockWorkers) // UnixNano of the first success sent after the kill
		succeeded = func(w int, sent time.Time) {
			k := killedAt.Load()
			if k == 0 || sent.UnixNano() < k {
				okBefore[w].Add(1)
				return
			}
			okAfter[w].Add(1)
			firstOK[w].CompareAndSwap(0, time.Now().UnixNano())
		}
	)
	for w := range transferWorkers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 6))
			for n := 0; !stop.Load(); n++ {
				r := transferRun{
					id:     fmt.Sprintf("w%d-%d", w, n),
					from:   rng.IntN(accounts),
					amount: 1 + rng.Int64N(100),
				}
				r.to = (r.from + 1 + rng.IntN(accounts-1)) % accounts
				deadline := time.Now().Add(transferDeadline)
				for {
					sent := time.Now()
					res, err := TransferOnce(ctx, fc, keys[r.from], keys[r.to], r.amount, r.id, nil)
					r.calls++
					if err == nil {
						r.done, r.applied = true, res.Applied
						succeeded(w, sent)
						break
					}
					errs.add(err)
					if time.Now().After(deadline) {
						break // given up: the outcome is unknown
					}
					time.Sleep(retryPause)
				}
				runs[w] = append(runs[w], r)
			}
		})
	}
	holds := make([][]lockHold, lockWorkers)
	lockKey := "{failover-lock}:job"
	for l := range lockWorkers {
		w := transferWorkers + l
		wg.Go(func() {
			lock := NewLock(fc, lockKey, &LockOptions{TTL: 500 * time.Millisecond, Retry: LinearRetry(10 * time.Millisecond)})
			for !stop.Load() {
				actx, cancel := context.WithTimeout(ctx, time.Second)
				sent := time.Now()
				err := lock.Acquire(actx)
				cancel()
				if err != nil {
					errs.add(err)
					time.Sleep(retryPause)
					continue
				}
				h := lockHold{fence: lock.Fence(), sent: sent, acquired: time.Now()}
				time.Sleep(time.Millisecond) // the critical section
				h.ended = time.Now()
				select {
				case <-lock.Lost():
					h.lost = true
				default:
				}
				holds[l] = append(holds[l], h)
				if err := lock.Release(ctx); err != nil {
					errs.add(err)
					continue
				}
				succeeded(w, sent)
			}
		})
	}
	defer func() { stop.Store(true); wg.Wait() }()

	allAtLeast := func(counts []atomic.Int64, n int64) bool {
		for i := range counts {
			if counts[i].Load() < n {
				return false
			}
		}
		return true
	}
	waitFor(t, 10*time.Second, "every worker to succeed 10 times before the kill", func() bool { return allAtLeast(okBefore, 10) })

	// The replica's fence counter now: it only grows until the promotion.
	replicaFence, err := setup.Replicas[0].Client(t).Get(ctx, NewLock(fc, lockKey, nil).FenceKey()).Int64()
	if errors.Is(err, redis.Nil) {
		replicaFence, err = 0, nil // no acquisition has reached it yet
	}
	if err != nil {
		t.Fatalf("the replica's fence counter: %v", err)
	}
	old := setup.Master.Addr
	killed := time.Now()
	killedAt.Store(killed.UnixNano())
	setup.Master.Kill()
	killDone := time.Now()
	newMaster := setup.WaitForNewMaster(t, old, 30*time.Second)
	promoted := time.Now()
	if newMaster != setup.Replicas[0].Addr {
		t.Fatalf("new master %s, want the replica %s", newMaster, setup.Replicas[0].Addr)
	}
	waitFor(t, 10*time.Second, "every worker to succeed 20 times after the kill", func() bool { return allAtLeast(okAfter, 20) })
	stop.Store(true)
	wg.Wait()

	// The last worker's first success after the kill. It may come before
	// WaitForNewMaster, which polls, returns.
	var recovered time.Time
	for w := range firstOK {
		if at := time.Unix(0, firstOK[w].Load()); at.After(recovered) {
			recovered = at
		}
	}
	t.Logf("master killed; every worker succeeded again %v after the kill; every sentinel reported the new master after %v",
		recovered.Sub(killed).Round(time.Millisecond), promoted.Sub(killed).Round(time.Millisecond))
	if late := recovered.Sub(promoted); late > 5*time.Second {
		t.Errorf("a worker took %v after the promotion to succeed again, want at most 5s", late)
	}
	checkLockHolds(t, slices.Concat(holds...), killed, killDone, replicaFence)
	errs.check(t)

	// Read the outcome on the new master: balances, then which transfer
	// records survived.
	direct := setup.Replicas[0].Client(t)
	vals, err := direct.MGet(ctx, keys...).Result()
	if err != nil {
		t.Fatal(err)
	}
	got := make([]int64, accounts)
	var sum int64
	for i, v := range vals {
		s, _ := v.(string)
		if got[i], err = strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatalf("%s = %v, want an integer", keys[i], v)
		}
		sum += got[i]
	}
	if sum != accounts*initial {
		t.Errorf("sum of balances = %d, want %d: money was created or destroyed", sum, accounts*initial)
	}

	var all []transferRun
	for _, rs := range runs {
		all = append(all, rs...)
	}
	pipe := direct.Pipeline()
	exists := make([]*redis.IntCmd, len(all))
	for i, r := range all {
		record := keyspace.DeriveWith(keys[r.from], kindTransferID, r.id)
		exists[i] = pipe.Exists(ctx, record)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	want := make([]int64, accounts)
	for i := range want {
		want[i] = initial
	}
	var retried, alreadyApplied, lost, unacknowledged, givenUp int
	for i, r := range all {
		survived := exists[i].Val() == 1
		if survived {
			want[r.from] -= r.amount
			want[r.to] += r.amount
		}
		if r.calls > 1 {
			retried++
		}
		switch {
		case !r.done:
			givenUp++
		case r.calls == 1 && !r.applied:
			t.Errorf("transfer %s: its first call reported Applied false", r.id)
		case !r.applied:
			alreadyApplied++ // an earlier call, whose reply was lost, had applied it
		}
		if r.done && !survived {
			lost++
		}
		if !r.done && survived {
			unacknowledged++
		}
	}
	// Balances equal to the initial ones plus exactly the surviving
	// records' moves: no transfer moved twice, none moved without its
	// record.
	if !slices.Equal(got, want) {
		t.Errorf("balances %v, want %v from the %d surviving transfer records", got, want, len(all)-lost-givenUp+unacknowledged)
	}
	if givenUp > 0 {
		t.Errorf("%d transfers never succeeded within %v of retries", givenUp, transferDeadline)
	}
	t.Logf("%d logical transfers, %d retried after an error, %d retries found the transfer already applied (Applied false); "+
		"%d acknowledged transfers lost with the old master (asynchronous replication), %d applied without an acknowledgement",
		len(all), retried, alreadyApplied, lost, unacknowledged)
}

// What a lock on one Redis master promises across a failover, and what
// FencedSet adds. Replication is asynchronous, so whether an acquisition
// survives the master's death depends on whether it reached the replica
// first; the test makes both cases deterministic:
//
//   - Lock "kept" is acquired by A and reaches the replica (WAIT 1 says
//     1). After the failover the new master still has it, with its
//     expiry: B cannot take it until A's TTL runs out. Then B gets a
//     higher fence, writes with FencedSet, and A, a stale holder that
//     paused past its TTL, is refused.
//   - Then the replica is cut off (the master refuses it PSYNC and drops
//     its link), as a lagging replica would be. Lock "lost" is acquired by
//     C, which WAIT could tell: 0 replicas have it. After the failover
//     the key and its fence increment are gone, since one script wrote
//     both: D takes the lock at once, while C still believes it holds it,
//     with the same fence as C. FencedSet accepts an equal fence, so it
//     cannot tell C's writes from D's. C learns of the loss only at its
//     next Refresh, Release or TTL call.
func TestSentinelFailoverLockAndFencing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	setup := redistest.StartSentinel(t, nil)
	// One connection per holder, so that WAIT, which waits for the
	// writes of its own connection, covers the holder's acquisition.
	ca, cb, cc, cd := failoverClient(t, setup, 1), failoverClient(t, setup, 1), failoverClient(t, setup, 1), failoverClient(t, setup, 1)
	const (
		kept, keptDoc = "{failover-fence}:kept", "{failover-fence}:kept-doc"
		lost, lostDoc = "{failover-fence}:lost", "{failover-fence}:lost-doc"
		keptTTL       = 8 * time.Second // outlasts the failover, which takes 2-4s
	)
	wait := func(c *redis.Client, timeout time.Duration) int {
		t.Helper()
		n, err := c.Do(ctx, "WAIT", 1, timeout.Milliseconds()).Int()
		if err != nil {
			t.Fatalf("WAIT: %v", err)
		}
		return n
	}

	lockA := NewLock(ca, kept, &LockOptions{TTL: keptTTL})
	sentA := time.Now() // A's TTL starts after this, on the same clock
	if ok, err := lockA.TryAcquire(ctx); !ok || err != nil {
		t.Fatalf("A: TryAcquire = %v, %v", ok, err)
	}
	fenceA := lockA.Fence()
	// A first holder of "lost" leaves its fence counter at 1 on both servers.
	first := NewLock(cc, lost, &LockOptions{TTL: time.Minute})
	if ok, err := first.TryAcquire(ctx); !ok || err != nil {
		t.Fatalf("first holder of %s: TryAcquire = %v, %v", lost, ok, err)
	}
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if n := wait(ca, 5*time.Second); n != 1 {
		t.Fatalf("WAIT 1 after A's acquisition = %d, want 1", n)
	}
	if n := wait(cc, 5*time.Second); n != 1 {
		t.Fatalf("WAIT 1 after the first holder's release = %d, want 1", n)
	}

	// Cut the replica off: from now on nothing the master writes reaches it.
	master := setup.Master.Client(t)
	if err := master.Do(ctx, "ACL", "SETUSER", "default", "-psync", "-sync").Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := master.Do(ctx, "CLIENT", "KILL", "TYPE", "replica").Int(); err != nil || n != 1 {
		t.Fatalf("CLIENT KILL TYPE replica = %d, %v; want 1", n, err)
	}
	lockC := NewLock(cc, lost, &LockOptions{TTL: time.Minute})
	if ok, err := lockC.TryAcquire(ctx); !ok || err != nil {
		t.Fatalf("C: TryAcquire = %v, %v", ok, err)
	}
	fenceC := lockC.Fence()
	if fenceC != 2 {
		t.Fatalf("C's fence = %d, want 2", fenceC)
	}
	if n := wait(cc, 100*time.Millisecond); n != 0 {
		t.Fatalf("WAIT 1 after C's acquisition = %d, want 0: the replica is cut off", n)
	}

	old := setup.Master.Addr
	setup.Master.Kill()
	if addr := setup.WaitForNewMaster(t, old, 30*time.Second); addr != setup.Replicas[0].Addr {
		t.Fatalf("new master %s, want the replica %s", addr, setup.Replicas[0].Addr)
	}
	newMaster := setup.Replicas[0].Client(t)
	for _, c := range []*redis.Client{ca, cb, cc, cd} {
		waitReachable(t, c)
		if port := serverPort(t, c); port != setup.Replicas[0].Port {
			t.Fatalf("failover client answered by port %d, want the new master's %d", port, setup.Replicas[0].Port)
		}
	}

	// The replicated lock survived, with its expiry.
	left, err := newMaster.PTTL(ctx, kept).Result()
	if err != nil || left < time.Second {
		t.Fatalf("PTTL %s on the new master = %v, %v; want over 1s left (the failover took %v of the %v TTL)",
			kept, left, err, time.Since(sentA), keptTTL)
	}
	lockB := NewLock(cb, kept, &LockOptions{TTL: keptTTL, Retry: LinearRetry(50 * time.Millisecond)})
	if ok, err := lockB.TryAcquire(ctx); ok || err != nil {
		t.Fatalf("B: TryAcquire while A's replicated lock lives = %v, %v; want false, nil", ok, err)
	}
	actx, cancel := context.WithTimeout(ctx, keptTTL+5*time.Second)
	defer cancel()
	if err := lockB.Acquire(actx); err != nil {
		t.Fatalf("B: Acquire after A's TTL = %v", err)
	}
	if waited := time.Since(sentA); waited < keptTTL {
		t.Errorf("B acquired %v after A, before A's %v TTL ran out", waited, keptTTL)
	}
	fenceB := lockB.Fence()
	if fenceB <= fenceA {
		t.Fatalf("B's fence %d is not above A's %d", fenceB, fenceA)
	}
	if ok, err := FencedSet(ctx, cb, keptDoc, "B", fenceB); !ok || err != nil {
		t.Fatalf("B: FencedSet(fence %d) = %v, %v; want true", fenceB, ok, err)
	}
	// A wakes up from a pause past its TTL and writes: refused.
	if ok, err := FencedSet(ctx, ca, keptDoc, "A", fenceA); ok || err != nil {
		t.Fatalf("stale A: FencedSet(fence %d) = %v, %v; want false, nil", fenceA, ok, err)
	}
	if err := lockA.Refresh(ctx, 0); !errors.Is(err, ErrNotHeld) {
		t.Errorf("stale A: Refresh = %v, want ErrNotHeld", err)
	}
	if got := newMaster.Get(ctx, keptDoc).Val(); got != "B" {
		t.Errorf("%s = %q, want B's write", keptDoc, got)
	}

	// The unreplicated lock is gone, with its fence increment: D takes
	// it at once and gets C's fence again.
	lockD := NewLock(cd, lost, &LockOptions{TTL: time.Minute})
	if ok, err := lockD.TryAcquire(ctx); !ok || err != nil {
		t.Fatalf("D: TryAcquire of the lock lost in the failover = %v, %v; want true", ok, err)
	}
	if lockC.Token() == "" {
		t.Fatal("C no longer believes it holds the lock")
	}
	if fenceD := lockD.Fence(); fenceD != fenceC {
		t.Fatalf("D's fence = %d, want C's %d again: the increment was lost with the key", fenceD, fenceC)
	}
	if ok, err := FencedSet(ctx, cd, lostDoc, "D", lockD.Fence()); !ok || err != nil {
		t.Fatalf("D: FencedSet = %v, %v; want true", ok, err)
	}
	// Equal fences are accepted, so C's write goes through as well: a
	// fence cannot protect against a lost acquisition.
	if ok, err := FencedSet(ctx, cc, lostDoc, "C", fenceC); !ok || err != nil {
		t.Fatalf("C: FencedSet with the fence D also holds = %v, %v; want true (equal fences are accepted)", ok, err)
	}
	if err := lockC.Refresh(ctx, 0); !errors.Is(err, ErrNotHeld) {
		t.Errorf("C: Refresh after the failover = %v, want ErrNotHeld", err)
	}
	if err := lockC.Release(ctx); !errors.Is(err, ErrNotHeld) {
		t.Errorf("C: Release after the failover = %v, want ErrNotHeld", err)
	}
	if err := lockD.Release(ctx); err != nil {
		t.Errorf("D: Release = %v", err)
	}
}

// After a Sentinel failover the new master's script cache is empty: the
// first Run of each script sends EVALSHA, gets NOSCRIPT and sends one
// EVAL, and the next Run needs only EVALSHA. The caller sees no error.
// The first call on the new master retries a TransferOnce that the old
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

	if err := fc.Set(ctx, from, 100, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if res, err := TransferOnce(ctx, fc, from, to, 10, id, nil); err != nil || !res.Applied {
		t.Fatalf("TransferOnce on the old master = %+v, %v; want applied", res, err)
	}
	if n, err := fc.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 = %d, %v; want 1", n, err)
	}
	oldMaster, replica := setup.Master.Client(t), setup.Replicas[0].Client(t)
	for _, s := range []*Script{transferScript, lockAcquire} {
		want := s == transferScript
		if ok, err := s.Exists(ctx, oldMaster); ok != want || err != nil {
			t.Fatalf("%s cached on the master = %v, %v; want %v", s.Name(), ok, err, want)
		}
		if ok, err := s.Exists(ctx, replica); ok || err != nil {
			t.Fatalf("%s cached on the replica = %v, %v; want false", s.Name(), ok, err)
		}
	}

	old := setup.Master.Addr
	setup.Master.Kill()
	setup.WaitForNewMaster(t, old, 30*time.Second)
	waitReachable(t, fc)
	if port := serverPort(t, fc); port != setup.Replicas[0].Port {
		t.Fatalf("failover client answered by port %d, want the new master's %d", port, setup.Replicas[0].Port)
	}

	rec.Take()
	res, err := TransferOnce(ctx, fc, from, to, 10, id, nil)
	if err != nil || res.Applied || res.From != 90 || res.To != 10 {
		t.Fatalf("TransferOnce retried on the new master = %+v, %v; want not applied again, 90 and 10", res, err)
	}
	if sent := rec.Take(); !slices.Equal(sent, []string{"evalsha", "eval"}) {
		t.Errorf("first script call on the new master sent %v, want [evalsha eval]", sent)
	}
	if res, err := Transfer(ctx, fc, from, to, 10); err != nil || res.From != 80 || res.To != 20 {
		t.Fatalf("Transfer on the new master = %+v, %v; want 80 and 20", res, err)
	}
	if sent := rec.Take(); !slices.Equal(sent, []string{"evalsha"}) {
		t.Errorf("second script call on the new master sent %v, want [evalsha]", sent)
	}
	// Per script: the lock's acquire script also needs its one EVAL.
	if ok, err := NewLock(fc, "{failover-eval}:lock", nil).TryAcquire(ctx); !ok || err != nil {
		t.Fatalf("TryAcquire on the new master = %v, %v", ok, err)
	}
	if sent := rec.Take(); !slices.Equal(sent, []string{"evalsha", "eval"}) {
		t.Errorf("first TryAcquire on the new master sent %v, want [evalsha eval]", sent)
	}
}

// waitCaughtUp polls until replica has received everything master wrote so
// far (its replication offset reaches the master's).
func waitCaughtUp(t *testing.T, master, replica *redistest.Server) {
	t.Helper()
	ctx := context.Background()
	offset := func(c *redis.Client, field string) int64 {
		info, err := c.Info(ctx, "replication").Result()
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(info) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
		}
		t.Fatalf("INFO replication of %s has no %s", c.Options().Addr, field)
		return 0
	}
	want := offset(master.Client(t), "master_repl_offset")
	rc := replica.Client(t)
	waitFor(t, 10*time.Second, "the replica to catch up", func() bool { return offset(rc, "slave_repl_offset") >= want })
}

// clusterTag is the keys of one hash tag in the cluster failover test and
// what its worker saw.
type clusterTag struct {
	counter, a, b string
	victim        bool         // in the killed master's slots
	calls, acked  atomic.Int64 // counter script calls made and acknowledged
	okAfter       atomic.Int64 // rounds that fully succeeded, sent after the kill
	firstOK       atomic.Int64 // UnixNano when the first of those ended
}

// Scripts keep running on every slot of a Redis Cluster after a master is
// killed and its replica, whose script cache is empty, takes over: two hash
// tags per slot range, each with a worker running a counter script and
// Transfer between two balances. Afterwards: no caller saw NOSCRIPT, every
// tag's calls succeed again, each tag's two balances still add up (a
// transfer is one script: lost or kept whole), no counter ran more often
// than it was called, and counters on the surviving masters hold every
// acknowledged increment.
//
// go-redis v9.23 reloads a ClusterClient's slot map on MOVED, ASK and
// READONLY replies and every ClusterStateReloadInterval, not on connection
// errors: with the default interval (60 s) it keeps sending the dead
// master's slots to the dead address for up to a minute. The client here
// reloads every 500ms, which needs no coordination with the workload (a
// ReloadState call would have to come from whoever notices the failover).
func TestClusterFailoverScriptsRunOnEverySlot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := redistest.StartCluster(t, &redistest.ClusterOptions{ReplicasPerMaster: 1})
	cc := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                      c.Addrs(),
		ClusterStateReloadInterval: 500 * time.Millisecond,
		// No retries or redirects: every error reaches the worker, and
		// go-redis never sends a script twice on its own.
		MaxRedirects: -1,
		MaxRetries:   -1,
		DialTimeout:  200 * time.Millisecond,
		ReadTimeout:  500 * time.Millisecond,
		WriteTimeout: 500 * time.Millisecond,
	})
	t.Cleanup(func() { _ = cc.Close() })
	incr := MustNewScript("incr", incrSrc)
	const initial = 1_000_000

	slots, err := cc.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	victim, promoted := c.Masters[0], c.Replicas[0] // Replicas[0] replicates Masters[0]
	var tags []*clusterTag
	for _, r := range slots {
		found := 0
		for i := 0; found < 2; i++ {
			tag := fmt.Sprintf("{failover-cluster-%d}", i)
			if s := Slot(tag); s < r.Start || s > r.End {
				continue
			}
			found++
			tags = append(tags, &clusterTag{counter: tag + ":count", a: tag + ":a", b: tag + ":b", victim: r.Nodes[0].Addr == victim.Addr})
		}
	}
	if len(tags) != 2*len(c.Masters) {
		t.Fatalf("%d tags over %d slot ranges, want 2 per master", len(tags), len(slots))
	}
	for _, tg := range tags {
		if err := cc.MSet(ctx, tg.a, initial, tg.b, initial).Err(); err != nil {
			t.Fatal(err)
		}
	}
	waitCaughtUp(t, victim, promoted)
	for _, s := range []*Script{incr, transferScript} {
		if ok, err := s.Exists(ctx, promoted.Client(t)); ok || err != nil {
			t.Fatalf("%s cached on the replica before the failover = %v, %v; want false", s.Name(), ok, err)
		}
	}

	var (
		errs     errTally
		stop     atomic.Bool
		killedAt atomic.Int64
		wg       sync.WaitGroup
	)
	for _, tg := range tags {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				sent := time.Now()
				tg.calls.Add(1)
				err := incr.Run(ctx, cc, []string{tg.counter}, 1).Err()
				if err == nil {
					tg.acked.Add(1)
					from, to := tg.a, tg.b
					if n%2 == 1 {
						from, to = to, from
					}
					_, err = Transfer(ctx, cc, from, to, 1+int64(n%7))
				}
				if err != nil {
					errs.add(err)
					time.Sleep(20 * time.Millisecond)
					continue
				}
				if k := killedAt.Load(); k != 0 && sent.UnixNano() >= k {
					tg.okAfter.Add(1)
					tg.firstOK.CompareAndSwap(0, time.Now().UnixNano())
				}
			}
		})
	}
	defer func() { stop.Store(true); wg.Wait() }()
	waitFor(t, 10*time.Second, "every tag's scripts to run 10 times", func() bool {
		for _, tg := range tags {
			if tg.acked.Load() < 10 {
				return false
			}
		}
		return true
	})

	// A client with the default reload interval, used before the kill.
	stale := c.Client(t)
	var victimKey string
	for _, tg := range tags {
		if tg.victim {
			victimKey = tg.a
		}
	}
	if err := stale.Get(ctx, victimKey).Err(); err != nil {
		t.Fatal(err)
	}

	killed := time.Now()
	killedAt.Store(killed.UnixNano())
	victim.Kill()
	c.WaitHealthy(t, 30*time.Second)
	healthy := time.Now()
	// Not asserted, as it is go-redis's behaviour, not this library's.
	t.Logf("a client with the default ClusterStateReloadInterval, after the failover: GET %s: %v", victimKey, stale.Get(ctx, victimKey).Err())
	if got := c.MasterOf(0); got != promoted {
		t.Fatalf("slot 0 served by %v after the failover, want the replica %s", got, promoted.Addr)
	}
	waitFor(t, 15*time.Second, "every tag's scripts to succeed 5 times after the kill", func() bool {
		for _, tg := range tags {
			if tg.okAfter.Load() < 5 {
				return false
			}
		}
		return true
	})
	stop.Store(true)
	wg.Wait()

	// The last tag's first success after the kill. It may come before
	// WaitHealthy, which polls, returns.
	var recovered time.Time
	for _, tg := range tags {
		if at := time.Unix(0, tg.firstOK.Load()); at.After(recovered) {
			recovered = at
		}
	}
	t.Logf("master killed; scripts ran on every slot again %v after the kill; the cluster was healthy after %v",
		recovered.Sub(killed).Round(time.Millisecond), healthy.Sub(killed).Round(time.Millisecond))
	if late := recovered.Sub(healthy); late > 5*time.Second {
		t.Errorf("scripts took %v after the cluster was healthy to run on every slot, want at most 5s", late)
	}
	errs.check(t)

	var lost int64
	for _, tg := range tags {
		vals, err := cc.MGet(ctx, tg.a, tg.b, tg.counter).Result()
		if err != nil {
			t.Fatal(err)
		}
		var n [3]int64
		for i, v := range vals {
			s, _ := v.(string)
			if n[i], err = strconv.ParseInt(s, 10, 64); err != nil {
				t.Fatalf("%v = %v, want an integer", []string{tg.a, tg.b, tg.counter}[i], v)
			}
		}
		if n[0]+n[1] != 2*initial {
			t.Errorf("%s + %s = %d, want %d", tg.a, tg.b, n[0]+n[1], 2*initial)
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
	for _, s := range []*Script{incr, transferScript} {
		if ok, err := s.Exists(ctx, promoted.Client(t)); !ok || err != nil {
			t.Errorf("%s cached on the promoted replica = %v, %v; want true, loaded by the EVAL after its NOSCRIPT", s.Name(), ok, err)
		}
	}
	t.Logf("%d acknowledged increments lost with the killed master (asynchronous replication)", lost)
}
