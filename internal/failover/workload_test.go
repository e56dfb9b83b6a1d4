package failover

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
)

const (
	initialBalance = 1_000_000             // of every balance the tests seed
	retryPause     = 20 * time.Millisecond // after a worker's failed call
)

// workload runs worker goroutines until stop, counting each worker's
// successes before and after the kill and tallying their errors.
type workload struct {
	errs     errTally
	stopping atomic.Bool
	wg       sync.WaitGroup
	killedAt atomic.Int64 // UnixNano of the kill; 0 before
	okBefore []atomic.Int64
	okAfter  []atomic.Int64
	firstOK  []atomic.Int64 // UnixNano of the first success sent after the kill
}

// prepare sizes w for workers and stops it when t ends, before the servers
// and clients started earlier are stopped.
func (w *workload) prepare(t *testing.T, workers int) {
	w.okBefore = make([]atomic.Int64, workers)
	w.okAfter = make([]atomic.Int64, workers)
	w.firstOK = make([]atomic.Int64, workers)
	t.Cleanup(w.stop)
}

func (w *workload) stopped() bool { return w.stopping.Load() }

// stop makes every worker return after its current call and waits for them.
func (w *workload) stop() {
	w.stopping.Store(true)
	w.wg.Wait()
}

// succeeded counts a success of worker i whose call was sent at sent.
func (w *workload) succeeded(i int, sent time.Time) {
	k := w.killedAt.Load()
	if k == 0 || sent.UnixNano() < k {
		w.okBefore[i].Add(1)
		return
	}
	w.okAfter[i].Add(1)
	w.firstOK[i].CompareAndSwap(0, time.Now().UnixNano())
}

// markKill records now as the time of the kill and returns it.
func (w *workload) markKill() time.Time {
	killed := time.Now()
	w.killedAt.Store(killed.UnixNano())
	return killed
}

// recovered returns when the last worker's first success after the kill
// ended.
func (w *workload) recovered() time.Time {
	var last time.Time
	for i := range w.firstOK {
		if at := time.Unix(0, w.firstOK[i].Load()); at.After(last) {
			last = at
		}
	}
	return last
}

// allAtLeast reports whether every worker's count reached n.
func allAtLeast(counts []atomic.Int64, n int64) bool {
	for i := range counts {
		if counts[i].Load() < n {
			return false
		}
	}
	return true
}

// Sizes of the Sentinel workload.
const (
	accounts         = 8
	transferWorkers  = 8
	lockWorkers      = 2
	transferDeadline = 15 * time.Second // per logical transfer, across its retries
	lockKey          = "{failover-lock}:job"
)

// transferRun is one logical transfer of the Sentinel workload, retried
// with the same ID until a call succeeds.
type transferRun struct {
	id       string
	from, to int // account indexes
	amount   int64
	calls    int  // transferOnce calls made with this ID
	done     bool // a call returned without error
	applied  bool // Applied of that call
}

// lockHold is one acquisition of the Sentinel workload's lock: its fence,
// when its critical section began and ended (local monotonic time), and
// whether the lock had counted it lost by the end.
type lockHold struct {
	fence           int64
	sent            time.Time // acquire was called
	acquired, ended time.Time
	lost            bool
}

// bankWorkload is the load of TestSentinelFailoverTransferOnceAndLock:
// transferWorkers goroutines move money between the accounts keys with
// transferOnce, and lockWorkers goroutines (workers transferWorkers and
// up) take and release the lock lockKey.
type bankWorkload struct {
	workload
	keys  []string
	runs  [][]transferRun // per transfer worker
	holds [][]lockHold    // per lock worker
}

func startBankWorkload(t *testing.T, c *redis.Client, keys []string) *bankWorkload {
	t.Helper()
	ctx := context.Background()
	w := &bankWorkload{keys: keys, runs: make([][]transferRun, transferWorkers), holds: make([][]lockHold, lockWorkers)}
	w.prepare(t, transferWorkers+lockWorkers)
	for i := range transferWorkers {
		w.wg.Go(func() { w.transfers(ctx, c, i) })
	}
	for l := range lockWorkers {
		lk := newLock(t, c, lockKey, 500*time.Millisecond, 10*time.Millisecond)
		w.wg.Go(func() { w.locks(ctx, lk, l) })
	}
	return w
}

// transfers is transfer worker i: one logical transfer after another
// between two random accounts.
func (w *bankWorkload) transfers(ctx context.Context, c *redis.Client, i int) {
	rng := rand.New(rand.NewPCG(uint64(i), 6))
	for n := 0; !w.stopped(); n++ {
		r := transferRun{
			id:     fmt.Sprintf("w%d-%d", i, n),
			from:   rng.IntN(accounts),
			amount: 1 + rng.Int64N(100),
		}
		r.to = (r.from + 1 + rng.IntN(accounts-1)) % accounts
		w.transferUntilDone(ctx, c, i, &r)
		w.runs[i] = append(w.runs[i], r)
	}
}

// transferUntilDone calls transferOnce with r's ID until a call succeeds
// or transferDeadline has passed.
func (w *bankWorkload) transferUntilDone(ctx context.Context, c *redis.Client, i int, r *transferRun) {
	deadline := time.Now().Add(transferDeadline)
	for {
		sent := time.Now()
		res, err := transferOnce(ctx, c, w.keys[r.from], w.keys[r.to], r.amount, r.id)
		r.calls++
		if err == nil {
			r.done, r.applied = true, res.Applied
			w.succeeded(i, sent)
			return
		}
		w.errs.add(err)
		if time.Now().After(deadline) {
			return // given up: the outcome is unknown
		}
		time.Sleep(retryPause)
	}
}

// locks is lock worker l: it acquires lk, holds it for a short critical
// section, records the hold and releases it, again and again.
func (w *bankWorkload) locks(ctx context.Context, lk *testLock, l int) {
	for !w.stopped() {
		actx, cancel := context.WithTimeout(ctx, time.Second)
		sent := time.Now()
		err := lk.acquire(actx)
		cancel()
		if err != nil {
			w.errs.add(err)
			time.Sleep(retryPause)
			continue
		}
		h := lockHold{fence: lk.fence(), sent: sent, acquired: time.Now()}
		time.Sleep(time.Millisecond) // the critical section
		h.ended = time.Now()
		select {
		case <-lk.lost():
			h.lost = true
		default:
		}
		w.holds[l] = append(w.holds[l], h)
		if err := lk.release(ctx); err != nil {
			w.errs.add(err)
			continue
		}
		w.succeeded(transferWorkers+l, sent)
	}
}

// clusterTag is the keys of one hash tag in the cluster failover test and
// what its worker saw.
type clusterTag struct {
	counter, a, b string
	victim        bool         // in the killed master's slots
	calls, acked  atomic.Int64 // counter script calls made and acknowledged
}

// clusterWorkload is the load of TestClusterFailoverScriptsRunOnEverySlot:
// worker i runs, for tags[i], the counter script incr and then a transfer
// between the tag's two balances, each round in the other direction.
type clusterWorkload struct {
	workload
	tags []*clusterTag
}

func startClusterWorkload(t *testing.T, cc *redis.ClusterClient, incr *redislua.Script, tags []*clusterTag) *clusterWorkload {
	t.Helper()
	ctx := context.Background()
	w := &clusterWorkload{tags: tags}
	w.prepare(t, len(tags))
	for i := range tags {
		w.wg.Go(func() { w.rounds(ctx, cc, incr, i) })
	}
	return w
}

// rounds is worker i. A round succeeds when both of its calls do.
func (w *clusterWorkload) rounds(ctx context.Context, cc *redis.ClusterClient, incr *redislua.Script, i int) {
	tg := w.tags[i]
	for n := 0; !w.stopped(); n++ {
		sent := time.Now()
		tg.calls.Add(1)
		err := incr.Run(ctx, cc, []string{tg.counter}, 1).Err()
		if err == nil {
			tg.acked.Add(1)
			from, to := tg.a, tg.b
			if n%2 == 1 {
				from, to = to, from
			}
			_, err = move(ctx, cc, from, to, 1+int64(n%7))
		}
		if err != nil {
			w.errs.add(err)
			time.Sleep(retryPause)
			continue
		}
		w.succeeded(i, sent)
	}
}

// allAcked reports whether every tag's counter script was acknowledged n
// times.
func (w *clusterWorkload) allAcked(n int64) bool {
	for _, tg := range w.tags {
		if tg.acked.Load() < n {
			return false
		}
	}
	return true
}

// functionWorkers is the number of callers of the Functions workload.
const functionWorkers = 8

// functionWorkload is the load of
// TestSentinelFailoverFunctionCallsRecoverNothingDoubled: functionWorkers
// goroutines call a counting function on one key, one call after another,
// and never retry a call themselves.
type functionWorkload struct {
	workload
	calls, acked, failed atomic.Int64  // Call invocations and their outcomes
	ackSent              [][]time.Time // per worker, when each acknowledged call was sent
}

func startFunctionWorkload(t *testing.T, c *redis.Client, fn *redislua.Function, key string) *functionWorkload {
	t.Helper()
	ctx := context.Background()
	w := &functionWorkload{ackSent: make([][]time.Time, functionWorkers)}
	w.prepare(t, functionWorkers)
	for i := range functionWorkers {
		w.wg.Go(func() { w.caller(ctx, c, fn, key, i) })
	}
	return w
}

// caller is worker i. A failed call is counted, not repeated: its outcome
// is unknown, and the next call is a new one.
func (w *functionWorkload) caller(ctx context.Context, c *redis.Client, fn *redislua.Function, key string, i int) {
	for !w.stopped() {
		sent := time.Now()
		w.calls.Add(1)
		if err := fn.Call(ctx, c, []string{key}).Err(); err != nil {
			w.failed.Add(1)
			w.errs.add(err)
			time.Sleep(retryPause)
			continue
		}
		w.acked.Add(1)
		w.ackSent[i] = append(w.ackSent[i], sent)
		w.succeeded(i, sent)
	}
}

// ackedSentAfter returns how many acknowledged calls were sent after at.
// Call it once the workers have stopped.
func (w *functionWorkload) ackedSentAfter(at time.Time) int64 {
	var n int64
	for _, sent := range w.ackSent {
		for _, s := range sent {
			if s.After(at) {
				n++
			}
		}
	}
	return n
}
