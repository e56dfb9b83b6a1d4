package redistest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// WaitHealthy polls the cluster until every running node reports
// cluster_state:ok and a slot map that covers every slot with masters that
// are running, as after a killed master's replica has taken over. It
// fails tb, with the nodes' log tails, if that does not happen within
// timeout. A node that was killed or stopped is left out; a node that was
// restarted takes part.
//
// A redis.ClusterClient used before the failover keeps sending the failed
// master's slots to it until it reloads its slot map: go-redis v9.23 does
// so on MOVED, ASK and READONLY replies but not on connection errors, and
// otherwise every ClusterStateReloadInterval (60 s by default). Call its
// ReloadState (which returns before the reload is done), give it a short
// ClusterStateReloadInterval, or use a new client.
func (c *Cluster) WaitHealthy(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	clients := make(map[*Server]*redis.Client)
	defer func() {
		for _, cl := range clients {
			_ = cl.Close()
		}
	}()
	for {
		err := c.checkHealthy(ctx, clients)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("redistest: cluster not healthy within %v: %v\n%s", timeout, err, logTails(c.Nodes()))
		case <-time.After(5 * pollInterval):
		}
	}
}

// checkHealthy checks once what WaitHealthy waits for, with clients of the
// running nodes made as needed.
func (c *Cluster) checkHealthy(ctx context.Context, clients map[*Server]*redis.Client) error {
	var nodes []*Server
	running := make(map[string]bool)
	for _, n := range c.Nodes() {
		if n.running() {
			nodes = append(nodes, n)
			running[n.Addr] = true
		}
	}
	if len(nodes) == 0 {
		return errors.New("no node is running")
	}
	for _, n := range nodes {
		cl := clients[n]
		if cl == nil {
			cl = redis.NewClient(probeOptions(n.Addr))
			clients[n] = cl
		}
		info, err := cl.ClusterInfo(ctx).Result()
		if err != nil {
			return fmt.Errorf("%s: CLUSTER INFO: %w", n.Addr, err)
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("%s: cluster_state is not ok", n.Addr)
		}
		slots, err := cl.ClusterSlots(ctx).Result()
		if err != nil {
			return fmt.Errorf("%s: CLUSTER SLOTS: %w", n.Addr, err)
		}
		covered := 0
		for _, s := range slots {
			if len(s.Nodes) == 0 || !running[s.Nodes[0].Addr] {
				return fmt.Errorf("%s: slots %d-%d have no running master: %v", n.Addr, s.Start, s.End, s.Nodes)
			}
			covered += s.End - s.Start + 1
		}
		if covered != totalSlots {
			return fmt.Errorf("%s: slot map covers %d of %d slots", n.Addr, covered, totalSlots)
		}
	}
	return nil
}

// MasterOf returns the node that serves slot as master, as the first
// running node that answers CLUSTER SLOTS says. It returns nil if no node
// answers, the slot is not assigned, or its master is not a node of c.
// During a failover nodes may disagree for a moment; WaitHealthy first
// gives a settled answer.
func (c *Cluster) MasterOf(slot int) *Server {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	nodes := c.Nodes()
	for _, n := range nodes {
		if !n.running() {
			continue
		}
		cl := redis.NewClient(probeOptions(n.Addr))
		slots, err := cl.ClusterSlots(ctx).Result()
		_ = cl.Close()
		if err != nil {
			continue
		}
		for _, s := range slots {
			if s.Start <= slot && slot <= s.End && len(s.Nodes) > 0 {
				for _, m := range nodes {
					if m.Addr == s.Nodes[0].Addr {
						return m
					}
				}
			}
		}
		return nil
	}
	return nil
}
