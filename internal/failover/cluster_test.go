package failover

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/redistest"
)

// incrSrc is the counter script of the cluster test.
const incrSrc = "return redis.call('INCRBY', KEYS[1], ARGV[1])"

// Scripts keep running on every slot of a Redis Cluster after a master is
// killed and its replica, whose script cache is empty, takes over: two hash
// tags per slot range, each with a worker running a counter script and
// transfer between two balances. Afterwards: no caller saw NOSCRIPT, every
// tag's calls succeed again, each tag's two balances still add up (a
// transfer is one script: lost or kept whole), no counter ran more often
// than it was called, and counters on the surviving masters hold every
// acknowledged increment. See clusterClient for how the client finds the
// new master.
func TestClusterFailoverScriptsRunOnEverySlot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := redistest.StartCluster(t, &redistest.ClusterOptions{ReplicasPerMaster: 1})
	cc := clusterClient(t, c)
	incr := redislua.MustNewScript("incr", incrSrc)
	victim, promoted := c.Masters[0], c.Replicas[0] // Replicas[0] replicates Masters[0]
	tags := seedTags(t, c, cc, victim)
	waitCaughtUp(t, victim, promoted)
	for _, s := range []*redislua.Script{incr, transferScript} {
		if ok, err := s.Exists(ctx, promoted.Client(t)); ok || err != nil {
			t.Fatalf("%s cached on the replica before the failover = %v, %v; want false", s.Name(), ok, err)
		}
	}

	w := startClusterWorkload(t, cc, incr, tags)
	waitFor(t, 10*time.Second, "every tag's scripts to run 10 times", func() bool { return w.allAcked(10) })

	killed, healthy := killClusterMaster(t, c, victim, w)
	if got := c.MasterOf(0); got != promoted {
		t.Fatalf("slot 0 served by %v after the failover, want the replica %s", got, promoted.Addr)
	}
	waitFor(t, 15*time.Second, "every tag's scripts to succeed 5 times after the kill", func() bool { return allAtLeast(w.okAfter, 5) })
	w.stop()

	// The last tag's first success after the kill. It may come before
	// WaitHealthy, which polls, returns.
	recovered := w.recovered()
	t.Logf("master killed; scripts ran on every slot again %v after the kill; the cluster was healthy after %v",
		recovered.Sub(killed).Round(time.Millisecond), healthy.Sub(killed).Round(time.Millisecond))
	if late := recovered.Sub(healthy); late > 5*time.Second {
		t.Errorf("scripts took %v after the cluster was healthy to run on every slot, want at most 5s", late)
	}
	w.errs.check(t)
	lost := checkTags(t, cc, tags)
	for _, s := range []*redislua.Script{incr, transferScript} {
		if ok, err := s.Exists(ctx, promoted.Client(t)); !ok || err != nil {
			t.Errorf("%s cached on the promoted replica = %v, %v; want true, loaded by the EVAL after its NOSCRIPT", s.Name(), ok, err)
		}
	}
	t.Logf("%d acknowledged increments lost with the killed master (asynchronous replication)", lost)
}

// seedTags picks two hash tags in each slot range of the cluster, marks
// those served by victim, and sets each tag's two balances to
// initialBalance.
func seedTags(t *testing.T, c *redistest.Cluster, cc *redis.ClusterClient, victim *redistest.Server) []*clusterTag {
	t.Helper()
	ctx := context.Background()
	slots, err := cc.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	var tags []*clusterTag
	for _, r := range slots {
		found := 0
		for i := 0; found < 2; i++ {
			tag := fmt.Sprintf("{failover-cluster-%d}", i)
			if s := redislua.Slot(tag); s < r.Start || s > r.End {
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
		if err := cc.MSet(ctx, tg.a, initialBalance, tg.b, initialBalance).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return tags
}

// killClusterMaster kills victim under w's load and waits until the
// cluster is healthy, returning when it killed and when
// the cluster was healthy. It logs what a client with the default slot map
// reload interval, used before the kill, sees after the failover.
func killClusterMaster(t *testing.T, c *redistest.Cluster, victim *redistest.Server, w *clusterWorkload) (killed, healthy time.Time) {
	t.Helper()
	ctx := context.Background()
	stale := c.Client(t)
	var victimKey string
	for _, tg := range w.tags {
		if tg.victim {
			victimKey = tg.a
		}
	}
	if err := stale.Get(ctx, victimKey).Err(); err != nil {
		t.Fatal(err)
	}
	killed = w.markKill()
	victim.Kill()
	c.WaitHealthy(t, 30*time.Second)
	healthy = time.Now()
	// Not asserted, as it is go-redis's behaviour, not this library's.
	t.Logf("a client with the default ClusterStateReloadInterval, after the failover: GET %s: %v", victimKey, stale.Get(ctx, victimKey).Err())
	return killed, healthy
}
