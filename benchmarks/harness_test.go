package benchmarks

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/redistest"
)

// luaFS holds the benchmarks' own scripts.
//
//go:embed lua/*.lua
var luaFS embed.FS

// scripts is the registry of lua/, built once; lua/incr.lua is "incr".
var scripts = sync.OnceValue(func() *redislua.Registry {
	dir, err := fs.Sub(luaFS, "lua")
	if err != nil {
		panic(err)
	}
	r, err := redislua.NewRegistry(dir, &redislua.RegistryOptions{ClusterChecks: true})
	if err != nil {
		panic(err) // the files are part of this package: a test fails at once
	}
	return r
})

// script returns the script in lua/<name>.lua.
func script(name string) *redislua.Script { return scripts().MustScript(name) }

// luaSource returns the text of lua/<name>.lua.
func luaSource(tb testing.TB, name string) string {
	tb.Helper()
	b, err := fs.ReadFile(luaFS, "lua/"+name+".lua")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// goroutines is how many goroutines the parallel per-call benchmarks run.
const goroutines = 64

// setGoroutines makes b.RunParallel run at least n goroutines: RunParallel
// starts parallelism*GOMAXPROCS of them.
func setGoroutines(b *testing.B, n int) {
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((n + procs - 1) / procs)
}

// standalone starts a redis-server and returns a client on it with a pool
// of poolSize connections (0: go-redis's default).
func standalone(tb testing.TB, poolSize int) (*redistest.Server, *redis.Client) {
	tb.Helper()
	srv := redistest.Start(tb)
	return srv, newClient(tb, srv.Addr, poolSize)
}

func newClient(tb testing.TB, addr string, poolSize int) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, PoolSize: poolSize})
	tb.Cleanup(func() { _ = c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		tb.Fatal(err)
	}
	return c
}

// cluster starts a Redis Cluster of 3 masters, and replicasPerMaster
// replicas each, and returns a client on it whose slot map is loaded.
func cluster(tb testing.TB, replicasPerMaster int, poolSize int) (*redistest.Cluster, *redis.ClusterClient) {
	tb.Helper()
	c := redistest.StartCluster(tb, &redistest.ClusterOptions{ReplicasPerMaster: replicasPerMaster})
	return c, newClusterClient(tb, c.Addrs(), poolSize)
}

// newClusterClient returns a client on the cluster of the given nodes,
// with its slot map loaded and a connection to every node.
func newClusterClient(tb testing.TB, addrs []string, poolSize int) *redis.ClusterClient {
	tb.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, PoolSize: poolSize})
	tb.Cleanup(func() { _ = cc.Close() })
	if err := cc.ForEachShard(context.Background(), func(ctx context.Context, n *redis.Client) error {
		return n.Ping(ctx).Err()
	}); err != nil {
		tb.Fatal(err)
	}
	return cc
}

// isNoScript reports whether err is a NOSCRIPT error, raw or mapped.
func isNoScript(err error) bool {
	return errors.Is(err, redislua.ErrNoScript) || (err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT"))
}

// roundTrips is a go-redis hook that counts what a client sends: each
// ProcessHook invocation is one command and one round trip, each
// ProcessPipelineHook invocation one round trip carrying several commands.
// Installed on every node of a ClusterClient (OnNewNode), it counts round
// trips per node.
type roundTrips struct {
	mu    sync.Mutex
	trips []trip
}

// trip is one round trip: the node and the names of the commands sent.
type trip struct {
	addr     string
	pipeline bool
	cmds     []string
}

func (r *roundTrips) hook(addr string) redis.Hook { return &nodeHook{r: r, addr: addr} }

func (r *roundTrips) add(t trip) {
	if t.handshake() {
		return
	}
	r.mu.Lock()
	r.trips = append(r.trips, t)
	r.mu.Unlock()
}

// take returns the round trips recorded so far and forgets them.
func (r *roundTrips) take() []trip {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.trips
	r.trips = nil
	return t
}

// handshake reports whether t is part of a new connection's handshake,
// which go-redis sends through the hooks too: it is a cost per connection,
// not per call, and not counted.
func (t trip) handshake() bool {
	for _, c := range t.cmds {
		switch c {
		case "hello", "client", "auth", "select", "readonly":
		default:
			return false
		}
	}
	return true
}

type nodeHook struct {
	r    *roundTrips
	addr string
}

func (h *nodeHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *nodeHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.r.add(trip{addr: h.addr, cmds: []string{cmdName(cmd)}})
		return next(ctx, cmd)
	}
}

func (h *nodeHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		t := trip{addr: h.addr, pipeline: true}
		for _, c := range cmds {
			t.cmds = append(t.cmds, cmdName(c))
		}
		h.r.add(t)
		return next(ctx, cmds)
	}
}

// cmdName is a command's name, with the subcommand for SCRIPT.
func cmdName(cmd redis.Cmder) string {
	args := cmd.Args()
	name := strings.ToLower(fmt.Sprint(args[0]))
	if name == "script" && len(args) > 1 {
		name += " " + strings.ToLower(fmt.Sprint(args[1]))
	}
	return name
}
