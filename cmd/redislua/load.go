package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
)

// load loads every script of every dir into a server, or into every node
// of a cluster with -cluster.
func load(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("load", flag.ContinueOnError)
	fl.SetOutput(stderr)
	addr := fl.String("addr", "127.0.0.1:6379", "server address host:port (any node, with -cluster)")
	cluster := fl.Bool("cluster", false, "load on every master and replica of a Redis Cluster")
	timeout := fl.Duration("timeout", 10*time.Second, "time limit for the whole load")
	if err := fl.Parse(args); err != nil || fl.NArg() == 0 {
		fmt.Fprint(stderr, "usage: redislua load -addr host:port [-cluster] DIR...\n")
		return 2
	}
	var (
		c     redis.Scripter
		where string
	)
	if *cluster {
		cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{*addr}})
		defer cc.Close()
		c, where = cc, "every node of the cluster at "+*addr
	} else {
		rdb := redis.NewClient(&redis.Options{Addr: *addr})
		defer rdb.Close()
		c, where = rdb, *addr
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	return eachRegistry(fl.Args(), stderr, func(reg *redislua.Registry) error {
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
