package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// sentinelTimeout bounds starting a sentinel setup and waiting until the
// sentinels know the master, its replicas and each other.
const sentinelTimeout = 30 * time.Second

// SentinelSetup is a master, its replicas and the Redis Sentinels that
// monitor them, all on 127.0.0.1, started by StartSentinel.
//
// Master and Replicas record the roles at start; after a failover,
// CurrentMaster and WaitForNewMaster tell which server is the master.
type SentinelSetup struct {
	// Master is the master at start.
	Master *Server
	// Replicas are the replicas of Master at start.
	Replicas []*Server
	// Sentinels are the redis-sentinel processes; their Client speaks to a
	// sentinel, which answers SENTINEL commands.
	Sentinels []*Server
	// MasterName is the name the sentinels monitor the master under, for
	// redis.FailoverOptions.MasterName.
	MasterName string
}

// SentinelOptions configures StartSentinel. The zero value, like nil, means
// one master with one replica, watched by three sentinels with a quorum of
// two that fail over a master after it has not answered for one second.
type SentinelOptions struct {
	// MasterName is the name of the monitored master: "" means "redistest".
	MasterName string
	// Replicas is the number of replicas: 0 means 1.
	Replicas int
	// Sentinels is the number of sentinels: 0 means 3.
	Sentinels int
	// Quorum is the number of sentinels that must agree that the master is
	// down: 0 means a majority of Sentinels.
	Quorum int
	// DownAfter is down-after-milliseconds, how long the master must not
	// answer before a sentinel deems it down: 0 means one second.
	DownAfter time.Duration
	// FailoverTimeout is failover-timeout: 0 means three seconds. A
	// failover that stalls is abandoned after it, and retried after twice
	// as long.
	FailoverTimeout time.Duration
	// Args are extra redis-server arguments for the master and the
	// replicas, as for Start; sentinels do not get them.
	Args []string
}

// withDefaults returns a copy of o, which may be nil, with defaults applied.
func (o *SentinelOptions) withDefaults() (SentinelOptions, error) {
	var c SentinelOptions
	if o != nil {
		c = *o
	}
	if c.MasterName == "" {
		c.MasterName = "redistest"
	}
	if strings.ContainsAny(c.MasterName, " \t\r\n\"'") {
		return c, fmt.Errorf("MasterName %q has a space or a quote", c.MasterName)
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Sentinels == 0 {
		c.Sentinels = 3
	}
	if c.Quorum == 0 {
		c.Quorum = c.Sentinels/2 + 1
	}
	if c.DownAfter == 0 {
		c.DownAfter = time.Second
	}
	if c.FailoverTimeout == 0 {
		c.FailoverTimeout = 3 * time.Second
	}
	switch {
	case c.Replicas < 0:
		return c, fmt.Errorf("negative Replicas %d", c.Replicas)
	case c.Sentinels < 0:
		return c, fmt.Errorf("negative Sentinels %d", c.Sentinels)
	case c.Quorum < 0 || c.Quorum > c.Sentinels:
		return c, fmt.Errorf("Quorum %d is not between 1 and Sentinels %d", c.Quorum, c.Sentinels)
	case c.DownAfter < time.Millisecond:
		return c, fmt.Errorf("DownAfter %v is less than 1ms", c.DownAfter)
	case c.FailoverTimeout < time.Millisecond:
		return c, fmt.Errorf("FailoverTimeout %v is less than 1ms", c.FailoverTimeout)
	}
	return c, nil
}

// StartSentinel starts a master, its replicas and sentinels monitoring it
// in a temporary directory, and stops them all in tb.Cleanup. A nil opts
// means the defaults of SentinelOptions. It returns once every replica's
// link to the master is up and every sentinel sees the master up, every
// replica up with its link up, and every other sentinel, so that a master
// stopped by Kill is failed over: a replica is promoted a few seconds
// later (see WaitForNewMaster).
//
// Nothing loads scripts on the replicas, and Redis 7 does not replicate
// SCRIPT LOAD or EVAL's script body (scripts replicate their effects), so
// a promoted replica starts with an empty script cache unless the test ran
// scripts on it.
//
// StartSentinel skips or fails tb as RequireRedis does when redis-server or
// redis-sentinel is missing.
func StartSentinel(tb testing.TB, opts *SentinelOptions) *SentinelSetup {
	tb.Helper()
	requireBinary(tb, "redis-server")
	requireBinary(tb, "redis-sentinel")
	s, err := startSentinel(tb.TempDir(), opts)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// startSentinel starts a sentinel setup in subdirectories of dir. On
// failure it stops whatever it started.
func startSentinel(dir string, opts *SentinelOptions) (_ *SentinelSetup, err error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &SentinelSetup{MasterName: o.MasterName}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), sentinelTimeout)
	defer cancel()

	if s.Master, err = launchIn(filepath.Join(dir, "master"), o.Args); err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	replicaOf := append([]string{"--replicaof", "127.0.0.1", strconv.Itoa(s.Master.Port)}, o.Args...)
	for i := range o.Replicas {
		r, err := launchIn(filepath.Join(dir, "replica"+strconv.Itoa(i)), replicaOf)
		if err != nil {
			return nil, fmt.Errorf("replica %d: %w", i, err)
		}
		s.Replicas = append(s.Replicas, r)
	}
	for _, r := range s.Replicas {
		if err := waitLinkUp(ctx, r); err != nil {
			return nil, fmt.Errorf("replica %s: %w\n%s", r.Addr, err, logTails(s.servers()))
		}
	}

	for i := range o.Sentinels {
		sn, err := launchSentinel(filepath.Join(dir, "sentinel"+strconv.Itoa(i)), s.Master.Port, o)
		if err != nil {
			return nil, fmt.Errorf("sentinel %d: %w", i, err)
		}
		s.Sentinels = append(s.Sentinels, sn)
	}
	if err := s.waitSentinels(ctx, o.Replicas); err != nil {
		return nil, fmt.Errorf("sentinels not ready: %w\n%s", err, logTails(s.servers()))
	}
	return s, nil
}

// launchIn creates dir and starts a standalone server in it.
func launchIn(dir string, extraArgs []string) (*Server, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return launch(dir, false, extraArgs)
}

// sentinelConf is a sentinel's configuration file. The sentinel rewrites
// it to record what it learns (other sentinels, replicas, failovers), so
// it lives in the sentinel's directory, writable, and Restart reads it back.
func sentinelConf(masterPort int, o SentinelOptions) string {
	name := o.MasterName
	return fmt.Sprintf(`sentinel resolve-hostnames no
sentinel monitor %s 127.0.0.1 %d %d
sentinel down-after-milliseconds %s %d
sentinel failover-timeout %s %d
sentinel parallel-syncs %s 1
`, name, masterPort, o.Quorum,
		name, o.DownAfter.Milliseconds(),
		name, o.FailoverTimeout.Milliseconds(),
		name)
}

// launchSentinel writes a sentinel's configuration file in dir and starts
// redis-sentinel with it on a free port.
func launchSentinel(dir string, masterPort int, o SentinelOptions) (*Server, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(conf, []byte(sentinelConf(masterPort, o)), 0o600); err != nil {
		return nil, err
	}
	return launchSpec{
		dir:     dir,
		program: "redis-sentinel",
		ports:   1,
		args: func(ports []int, logPath string) []string {
			// The configuration file must come first. Of the base
			// arguments a sentinel uses port, bind, dir, logfile and
			// daemonize, and accepts and ignores the others.
			return append([]string{conf}, baseArgs(dir, ports[0], logPath)...)
		},
	}.launch()
}

// waitLinkUp polls INFO replication on replica r until its link to its
// master is up.
func waitLinkUp(ctx context.Context, r *Server) error {
	for {
		info, err := roundTrip(r.Addr, r.tlsConfig, "INFO", "replication")
		if err == nil && strings.Contains(info, "master_link_status:up") {
			return nil
		}
		if err == nil {
			err = errors.New("master_link_status is not up")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; last check: %w", ctx.Err(), err)
		case <-time.After(5 * pollInterval):
		}
	}
}

// waitSentinels polls the sentinels until each one sees the master up, the
// given number of replicas up with their links up, and every other
// sentinel.
func (s *SentinelSetup) waitSentinels(ctx context.Context, replicas int) error {
	clients := make([]*redis.SentinelClient, len(s.Sentinels))
	for i, sn := range s.Sentinels {
		clients[i] = redis.NewSentinelClient(probeOptions(sn.Addr))
		defer clients[i].Close()
	}
	for {
		err := s.checkSentinels(ctx, clients, replicas)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; last check: %w", ctx.Err(), err)
		case <-time.After(5 * pollInterval):
		}
	}
}

// checkSentinels checks once what waitSentinels waits for.
func (s *SentinelSetup) checkSentinels(ctx context.Context, clients []*redis.SentinelClient, replicas int) error {
	others := strconv.Itoa(len(clients) - 1)
	for i, c := range clients {
		addr := s.Sentinels[i].Addr
		m, err := c.Master(ctx, s.MasterName).Result()
		if err != nil {
			return fmt.Errorf("sentinel %s: SENTINEL MASTER: %w", addr, err)
		}
		if got := net.JoinHostPort(m["ip"], m["port"]); got != s.Master.Addr || m["flags"] != "master" {
			return fmt.Errorf("sentinel %s sees master %s with flags %q, want %s with flags \"master\"", addr, got, m["flags"], s.Master.Addr)
		}
		if m["num-other-sentinels"] != others {
			return fmt.Errorf("sentinel %s sees %s other sentinels, want %s", addr, m["num-other-sentinels"], others)
		}
		rs, err := c.Replicas(ctx, s.MasterName).Result()
		if err != nil {
			return fmt.Errorf("sentinel %s: SENTINEL REPLICAS: %w", addr, err)
		}
		if len(rs) != replicas {
			return fmt.Errorf("sentinel %s sees %d replicas, want %d", addr, len(rs), replicas)
		}
		for _, r := range rs {
			if r["flags"] != "slave" || r["master-link-status"] != "ok" {
				return fmt.Errorf("sentinel %s sees replica %s:%s with flags %q and link %q, want \"slave\" and \"ok\"",
					addr, r["ip"], r["port"], r["flags"], r["master-link-status"])
			}
		}
	}
	return nil
}

// probeOptions are client options for the harness's own checks: one
// attempt, short timeouts, so that a dead server fails a check at once.
func probeOptions(addr string) *redis.Options {
	return &redis.Options{
		Addr:         addr,
		MaxRetries:   -1,
		DialTimeout:  dialTimeout,
		ReadTimeout:  dialTimeout,
		WriteTimeout: dialTimeout,
	}
}

// SentinelAddrs returns the addresses of the sentinels, for
// redis.FailoverOptions.SentinelAddrs.
func (s *SentinelSetup) SentinelAddrs() []string {
	addrs := make([]string, len(s.Sentinels))
	for i, sn := range s.Sentinels {
		addrs[i] = sn.Addr
	}
	return addrs
}

// FailoverClient returns a new client that asks the sentinels for the
// current master (redis.NewFailoverClient), closed in tb.Cleanup.
func (s *SentinelSetup) FailoverClient(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    s.MasterName,
		SentinelAddrs: s.SentinelAddrs(),
	})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// CurrentMaster returns the address of the master as the first sentinel
// that answers reports it (SENTINEL GET-MASTER-ADDR-BY-NAME). Sentinels
// may disagree for a moment during a failover; WaitForNewMaster waits
// until they agree.
func (s *SentinelSetup) CurrentMaster(ctx context.Context) (string, error) {
	var errs []error
	for _, sn := range s.Sentinels {
		addr, err := s.masterAddr(ctx, sn)
		if err == nil {
			return addr, nil
		}
		errs = append(errs, err)
	}
	return "", fmt.Errorf("redistest: no sentinel answers: %w", errors.Join(errs...))
}

// masterAddr asks sentinel sn for the address of the master.
func (s *SentinelSetup) masterAddr(ctx context.Context, sn *Server) (string, error) {
	c := redis.NewSentinelClient(probeOptions(sn.Addr))
	defer c.Close()
	r, err := c.GetMasterAddrByName(ctx, s.MasterName).Result()
	if err != nil {
		return "", fmt.Errorf("sentinel %s: %w", sn.Addr, err)
	}
	if len(r) != 2 {
		return "", fmt.Errorf("sentinel %s: SENTINEL GET-MASTER-ADDR-BY-NAME = %q, want host and port", sn.Addr, r)
	}
	return net.JoinHostPort(r[0], r[1]), nil
}

// WaitForNewMaster polls until every running sentinel reports the same
// master, other than old, and that server reports role:master; it returns
// the new master's address. It fails tb, with the sentinels' log tails,
// if that does not happen within timeout.
func (s *SentinelSetup) WaitForNewMaster(tb testing.TB, old string, timeout time.Duration) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		addr, err := s.newMaster(ctx, old)
		if err == nil {
			return addr
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("redistest: no new master in place of %s within %v: %v\n%s", old, timeout, err, logTails(s.Sentinels))
		case <-time.After(5 * pollInterval):
		}
	}
}

// newMaster checks once what WaitForNewMaster waits for.
func (s *SentinelSetup) newMaster(ctx context.Context, old string) (string, error) {
	var master string
	for _, sn := range s.Sentinels {
		if !sn.running() {
			continue
		}
		addr, err := s.masterAddr(ctx, sn)
		if err != nil {
			return "", err
		}
		if addr == old {
			return "", fmt.Errorf("sentinel %s still reports %s", sn.Addr, old)
		}
		if master != "" && addr != master {
			return "", fmt.Errorf("sentinels report %s and %s", master, addr)
		}
		master = addr
	}
	if master == "" {
		return "", errors.New("no sentinel is running")
	}
	info, err := roundTrip(master, nil, "INFO", "replication")
	if err != nil {
		return "", fmt.Errorf("new master %s: INFO replication: %w", master, err)
	}
	if !strings.Contains(info, "role:master") {
		return "", fmt.Errorf("new master %s does not report role:master yet", master)
	}
	return master, nil
}

// dataServers returns the master, if started, and the replicas.
func (s *SentinelSetup) dataServers() []*Server {
	var servers []*Server
	if s.Master != nil {
		servers = append(servers, s.Master)
	}
	return append(servers, s.Replicas...)
}

// servers returns the sentinels, then the master and the replicas.
func (s *SentinelSetup) servers() []*Server {
	return append(slices.Clone(s.Sentinels), s.dataServers()...)
}

// Stop stops the sentinels, then the master and the replicas, as
// Server.Stop does. It is idempotent.
func (s *SentinelSetup) Stop() {
	stopAll(s.Sentinels)
	stopAll(s.dataServers())
}
