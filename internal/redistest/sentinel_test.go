package redistest

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestSentinelFailover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	begin := time.Now()
	s := StartSentinel(t, nil)
	t.Logf("sentinel setup (1 master, 1 replica, 3 sentinels) ready in %v", time.Since(begin))

	if len(s.Replicas) != 1 || len(s.Sentinels) != 3 || s.MasterName != "redistest" {
		t.Fatalf("got %d replicas, %d sentinels, master name %q; want 1, 3, redistest", len(s.Replicas), len(s.Sentinels), s.MasterName)
	}
	if got := s.SentinelAddrs(); len(got) != 3 || slices.Contains(got, s.Master.Addr) {
		t.Errorf("SentinelAddrs() = %v, want 3 sentinel addresses", got)
	}
	if got, err := s.CurrentMaster(ctx); err != nil || got != s.Master.Addr {
		t.Fatalf("CurrentMaster = %q, %v; want %s", got, err, s.Master.Addr)
	}

	// Load a script on the master and write through it; the write reaches
	// the replica, the script does not.
	fc := s.FailoverClient(t)
	script := redis.NewScript(`return redis.call('SET', KEYS[1], ARGV[1])`)
	if err := script.Run(ctx, fc, []string{"sentinel:key"}, "before").Err(); err != nil {
		t.Fatalf("script before failover: %v", err)
	}
	if n, err := s.Master.Client(t).Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 = %d, %v; want 1 replica", n, err)
	}
	assertScriptCached(t, s.Master, script.Hash(), true)
	assertScriptCached(t, s.Replicas[0], script.Hash(), false)

	old := s.Master.Addr
	s.Master.Kill()
	begin = time.Now()
	addr := s.WaitForNewMaster(t, old, 30*time.Second)
	t.Logf("replica promoted %v after the master was killed", time.Since(begin))
	if addr != s.Replicas[0].Addr {
		t.Errorf("WaitForNewMaster = %s, want the replica %s", addr, s.Replicas[0].Addr)
	}
	if got, err := s.CurrentMaster(ctx); err != nil || got != addr {
		t.Errorf("CurrentMaster after failover = %q, %v; want %s", got, err, addr)
	}
	assertScriptCached(t, s.Replicas[0], script.Hash(), false)

	// The failover client follows; the new master has the data but not
	// the script.
	if got, err := fc.Get(ctx, "sentinel:key").Result(); err != nil || got != "before" {
		t.Fatalf("GET through the failover client = %q, %v; want before", got, err)
	}
	err := script.EvalSha(ctx, fc, []string{"sentinel:key"}, "after").Err()
	if !redis.HasErrorPrefix(err, "NOSCRIPT") {
		t.Errorf("EVALSHA on the new master = %v, want NOSCRIPT", err)
	}
	if err := script.Run(ctx, fc, []string{"sentinel:key"}, "after").Err(); err != nil {
		t.Errorf("script after failover: %v", err)
	}
	if got, err := s.Replicas[0].Client(t).Get(ctx, "sentinel:key").Result(); err != nil || got != "after" {
		t.Errorf("GET on the promoted replica = %q, %v; want after", got, err)
	}
}

// assertScriptCached checks whether the script cache of s holds sha.
func assertScriptCached(t *testing.T, s *Server, sha string, want bool) {
	t.Helper()
	got, err := s.Client(t).ScriptExists(context.Background(), sha).Result()
	if err != nil || len(got) != 1 || got[0] != want {
		t.Errorf("%s: SCRIPT EXISTS %s = %v, %v; want [%v]", s.Addr, sha, got, err, want)
	}
}

func TestSentinelStopLeavesNothing(t *testing.T) {
	t.Parallel()
	s := StartSentinel(t, &SentinelOptions{MasterName: "other", Sentinels: 1})
	if s.MasterName != "other" || len(s.Sentinels) != 1 {
		t.Fatalf("MasterName %q, %d sentinels; want other, 1", s.MasterName, len(s.Sentinels))
	}
	// The sentinel rewrote its configuration with what it learnt.
	conf, err := os.ReadFile(filepath.Join(s.Sentinels[0].Dir, "sentinel.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(conf), "sentinel known-replica other 127.0.0.1 ") {
		t.Errorf("sentinel.conf does not list the replica:\n%s", conf)
	}
	servers := s.servers()
	pids := make([]int, len(servers))
	for i, srv := range servers {
		pids[i] = srv.Pid()
	}
	s.Stop()
	for i, srv := range servers {
		assertGone(t, srv, pids[i])
	}
	s.Stop() // idempotent
}

func TestSentinelOptionsDefaults(t *testing.T) {
	tests := []struct {
		opts    *SentinelOptions
		want    SentinelOptions
		wantErr bool
	}{
		{nil, SentinelOptions{MasterName: "redistest", Replicas: 1, Sentinels: 3, Quorum: 2, DownAfter: time.Second, FailoverTimeout: 3 * time.Second}, false},
		{&SentinelOptions{Sentinels: 5}, SentinelOptions{MasterName: "redistest", Replicas: 1, Sentinels: 5, Quorum: 3, DownAfter: time.Second, FailoverTimeout: 3 * time.Second}, false},
		{&SentinelOptions{Sentinels: 1}, SentinelOptions{MasterName: "redistest", Replicas: 1, Sentinels: 1, Quorum: 1, DownAfter: time.Second, FailoverTimeout: 3 * time.Second}, false},
		{&SentinelOptions{MasterName: "m", Replicas: 2, Quorum: 3, DownAfter: 500 * time.Millisecond, FailoverTimeout: time.Second},
			SentinelOptions{MasterName: "m", Replicas: 2, Sentinels: 3, Quorum: 3, DownAfter: 500 * time.Millisecond, FailoverTimeout: time.Second}, false},
		{&SentinelOptions{Quorum: 4}, SentinelOptions{}, true},
		{&SentinelOptions{Replicas: -1}, SentinelOptions{}, true},
		{&SentinelOptions{Sentinels: -1}, SentinelOptions{}, true},
		{&SentinelOptions{DownAfter: time.Microsecond}, SentinelOptions{}, true},
		{&SentinelOptions{MasterName: "a b"}, SentinelOptions{}, true},
	}
	for _, tt := range tests {
		got, err := tt.opts.withDefaults()
		if (err != nil) != tt.wantErr {
			t.Errorf("withDefaults(%+v) error = %v, want error %v", tt.opts, err, tt.wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("withDefaults(%+v) = %+v, want %+v", tt.opts, got, tt.want)
		}
	}
}

func TestSentinelConf(t *testing.T) {
	o, err := (&SentinelOptions{}).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	got := sentinelConf(6380, o)
	want := `sentinel resolve-hostnames no
sentinel monitor redistest 127.0.0.1 6380 2
sentinel down-after-milliseconds redistest 1000
sentinel failover-timeout redistest 3000
sentinel parallel-syncs redistest 1
`
	if got != want {
		t.Errorf("sentinelConf = %q, want %q", got, want)
	}
}
