package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
)

var loadCommand = command{
	name:     "load",
	synopsis: "[-addr host:port] [-cluster] [-timeout 10s] PATH...",
	about: `Load loads every script below each directory PATH, or the file PATH,
with SCRIPT LOAD, and each function library as Library.Load does (a library
the server holds with other code is left alone and reported). With
-cluster, scripts go to every master and replica of the cluster -addr
belongs to, libraries to every master. It prints "loaded name sha1" per
script. A server that cannot be reached is reported in one line before
anything is loaded.`,
}

// quiet drops go-redis's log lines (a page of "failed to dial" from the
// pool when the server is down): load reports the one error that matters.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// load loads every script of every path into a server, or into every node
// of a cluster with -cluster.
func load(args []string, stdout, stderr io.Writer) int {
	fl := loadCommand.newFlags(stderr)
	addr := fl.String("addr", "127.0.0.1:6379", "server address `host:port` (any node, with -cluster)")
	cluster := fl.Bool("cluster", false, "load on every master and replica of a Redis Cluster")
	timeout := fl.Duration("timeout", 10*time.Second, "time limit for the whole load")
	paths, code, done := loadCommand.parse(fl, args, true, stdout, stderr)
	if done {
		return code
	}
	redis.SetLogger(quiet{})
	var (
		c     redis.Scripter
		ping  func(context.Context) *redis.StatusCmd
		where string
	)
	if *cluster {
		cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{*addr}, DialerRetries: 1})
		defer cc.Close()
		c, ping, where = cc, cc.Ping, "every node of the cluster at "+*addr
	} else {
		rdb := redis.NewClient(&redis.Options{Addr: *addr, DialerRetries: 1})
		defer rdb.Close()
		c, ping, where = rdb, rdb.Ping, *addr
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := ping(ctx).Err(); err != nil {
		fmt.Fprintf(stderr, "redislua: load: cannot reach %s: %s\n", *addr, reachError(err))
		return exitUsage
	}
	return eachRegistry("load", paths, stderr, func(reg *redislua.Registry) error {
		if err := reg.LoadAll(ctx, c); err != nil {
			return err
		}
		for _, s := range reg.Scripts() {
			fmt.Fprintf(stdout, "loaded %s %s\n", s.Name(), s.SHA())
		}
		for _, l := range reg.Libraries() {
			fmt.Fprintf(stdout, "loaded function library %s (%d functions)\n", l.Name(), len(l.Functions()))
		}
		fmt.Fprintf(stdout, "%d scripts loaded on %s\n", len(reg.Scripts()), where)
		return nil
	})
}

// reachError says why a server could not be reached in a few words:
// "connection refused" rather than "dial tcp 127.0.0.1:1: connect:
// connection refused".
func reachError(err error) string {
	var sys *os.SyscallError
	var ne net.Error
	switch {
	case errors.As(err, &sys):
		return sys.Err.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "no answer before the time limit"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return strings.TrimPrefix(err.Error(), "redis: ")
}
