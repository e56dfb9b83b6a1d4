package benchmarks

import (
	"bufio"
	"context"
	"math"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// cpuMeter measures the CPU time that a benchmark costs: this process's
// (the client's: every goroutine, go-redis, the GC) and the Redis
// servers' (INFO cpu), between start and report.
//
// This machine's two cores are shared with other work, whose load makes
// wall-time figures swing by tens of percent from one run to the next.
// CPU time per operation hardly depends on that load, and as the client
// and the server share the two cores, a variant that costs x% more CPU
// per call has about x% less throughput when the cores are saturated.
//
// It also reports the time the servers spent running scripts (INFO
// commandstats of the EVAL and FCALL families, which includes the commands the
// scripts call, and nothing of reading or writing the connections): what
// a script itself costs the server.
type cpuMeter struct {
	servers              []*redis.Client
	client, server, exec time.Duration
}

// startCPU starts measuring; servers are clients of every server the
// benchmark sends to.
func startCPU(tb testing.TB, servers ...*redis.Client) *cpuMeter {
	tb.Helper()
	m := &cpuMeter{servers: servers}
	m.client = processCPU(tb)
	m.server, m.exec = serversCPU(tb, servers)
	return m
}

// report reports the CPU time per operation since start, for ops
// operations, in µs: client-cpu-µs/op, server-cpu-µs/op and their sum
// cpu-µs/op, and script-µs/op, the part of the server's spent running
// scripts. extra is CPU time spent outside this process for
// the client (a child process's).
func (m *cpuMeter) report(b *testing.B, ops int, extra time.Duration) {
	b.Helper()
	client := processCPU(b) - m.client + extra
	server, exec := serversCPU(b, m.servers)
	server -= m.server
	exec -= m.exec
	perOp := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(ops) }
	b.ReportMetric(perOp(client), "client-cpu-µs/op")
	b.ReportMetric(perOp(server), "server-cpu-µs/op")
	b.ReportMetric(perOp(client+server), "cpu-µs/op")
	b.ReportMetric(perOp(exec), "script-µs/op")
}

// processCPU is this process's user and system CPU time.
func processCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serversCPU returns the sum of the servers' used_cpu_user and
// used_cpu_sys, and of the time they spent running scripts.
func serversCPU(tb testing.TB, servers []*redis.Client) (cpu, exec time.Duration) {
	tb.Helper()
	for _, s := range servers {
		info, err := s.Info(context.Background(), "cpu", "commandstats").Result()
		if err != nil {
			tb.Fatal(err)
		}
		d, err := parseServerCPU(info)
		if err != nil {
			tb.Fatalf("%s: %v", s.Options().Addr, err)
		}
		cpu += d
		exec += parseExecTime(info)
	}
	return cpu, exec
}

// parseExecTime sums the usec fields of the EVAL and FCALL families in INFO
// commandstats. Commands called by scripts have lines of their own, whose
// time their script's already includes: they are left out.
func parseExecTime(info string) time.Duration {
	var total time.Duration
	for line := range strings.Lines(info) {
		name, stats, ok := strings.Cut(strings.TrimSpace(line), ":")
		switch name {
		case "cmdstat_eval", "cmdstat_evalsha", "cmdstat_eval_ro", "cmdstat_evalsha_ro",
			"cmdstat_fcall", "cmdstat_fcall_ro":
		default:
			continue
		}
		if !ok {
			continue
		}
		for field := range strings.SplitSeq(stats, ",") {
			if v, ok := strings.CutPrefix(field, "usec="); ok {
				if us, err := strconv.ParseInt(v, 10, 64); err == nil {
					total += time.Duration(us) * time.Microsecond
				}
			}
		}
	}
	return total
}

// parseServerCPU reads used_cpu_user and used_cpu_sys (seconds, to the
// microsecond) from INFO cpu.
func parseServerCPU(info string) (time.Duration, error) {
	var total time.Duration
	found := 0
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		name, value, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok || (name != "used_cpu_user" && name != "used_cpu_sys") {
			continue
		}
		secs, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return 0, err
		}
		total += time.Duration(math.Round(secs*1e6)) * time.Microsecond
		found++
	}
	if found != 2 {
		return 0, strconv.ErrSyntax
	}
	return total, nil
}

// masterClients returns a client of every master of cc, for a cpuMeter.
func masterClients(tb testing.TB, cc *redis.ClusterClient) []*redis.Client {
	tb.Helper()
	var (
		mu    sync.Mutex
		addrs []string
	)
	err := cc.ForEachMaster(context.Background(), func(ctx context.Context, n *redis.Client) error {
		mu.Lock() // ForEachMaster runs fn on every master at once
		addrs = append(addrs, n.Options().Addr)
		mu.Unlock()
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	clients := make([]*redis.Client, len(addrs))
	for i, a := range addrs {
		clients[i] = newClient(tb, a, 1)
	}
	return clients
}

func TestParseServerCPU(t *testing.T) {
	info := "# CPU\r\nused_cpu_sys:1.500000\r\nused_cpu_user:0.250001\r\nused_cpu_sys_children:9.0\r\n"
	got, err := parseServerCPU(info)
	if want := 1750001 * time.Microsecond; err != nil || got != want {
		t.Errorf("parseServerCPU = %v, %v; want %v", got, err, want)
	}
	if _, err := parseServerCPU("# CPU\r\nused_cpu_sys:1.5\r\n"); err == nil {
		t.Error("parseServerCPU without used_cpu_user: no error")
	}
}

func TestParseExecTime(t *testing.T) {
	info := "# Commandstats\r\ncmdstat_evalsha:calls=10,usec=120,usec_per_call=12.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_info:calls=2,usec=500,usec_per_call=250.00\r\ncmdstat_incrby:calls=10,usec=30,usec_per_call=3.00\r\n"
	if got, want := parseExecTime(info), 120*time.Microsecond; got != want {
		t.Errorf("parseExecTime = %v, want %v", got, want)
	}
}
