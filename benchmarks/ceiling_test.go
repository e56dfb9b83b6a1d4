package benchmarks

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redislua/redislua/internal/redistest"
)

// redisBenchmark describes one redis-benchmark run: conns connections,
// each keeping pipeline commands in flight, all sending args.
type redisBenchmark struct {
	conns, pipeline int
	// randomKeys, if set, is redis-benchmark's -r: each __rand_int__ in
	// args becomes a random number below it, zero-padded to 12 digits.
	randomKeys int
	args       []string
}

// run sends at least n commands to srv with redis-benchmark and returns
// how many it sent, its own throughput figure (requests per second, from
// its CSV output) and the CPU time the redis-benchmark process used.
func (rb redisBenchmark) run(tb testing.TB, srv *redistest.Server, n int) (sent int, rps float64, cpu time.Duration) {
	tb.Helper()
	sent, row, cpu := rb.runCSV(tb, srv, n)
	return sent, row["rps"], cpu
}

// runCSV is run returning every number of redis-benchmark's CSV result
// row by column name: "rps", "p50_latency_ms", "p99_latency_ms", ...
func (rb redisBenchmark) runCSV(tb testing.TB, srv *redistest.Server, n int) (sent int, row map[string]float64, cpu time.Duration) {
	tb.Helper()
	redistest.RequireBinary(tb, "redis-benchmark") // fails under REDISLUA_REQUIRE_REDIS
	// redis-benchmark cannot send fewer commands than it keeps in flight.
	n = max(n, rb.conns*rb.pipeline)
	args := []string{
		"-h", "127.0.0.1", "-p", strconv.Itoa(srv.Port),
		"-c", strconv.Itoa(rb.conns), "-P", strconv.Itoa(rb.pipeline),
		"-n", strconv.Itoa(n), "--csv",
	}
	if rb.randomKeys > 0 {
		args = append(args, "-r", strconv.Itoa(rb.randomKeys))
	}
	args = append(args, rb.args...)
	cmd := exec.Command("redis-benchmark", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("redis-benchmark %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	row, err = parseCSVRow(out)
	if err == nil && row["rps"] <= 0 {
		err = fmt.Errorf("no positive rps column in %q", out)
	}
	if err != nil {
		tb.Fatalf("redis-benchmark %s: %v\noutput:\n%s", strings.Join(args, " "), err, out)
	}
	return n, row, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// parseRPS reads the "rps" column of redis-benchmark --csv output, which
// is a header line and one line per test.
func parseRPS(out []byte) (float64, error) {
	row, err := parseCSVRow(out)
	if err != nil {
		return 0, err
	}
	rps, ok := row["rps"]
	if !ok {
		return 0, fmt.Errorf("no rps column in %q", out)
	}
	return rps, nil
}

// parseCSVRow reads redis-benchmark --csv output of one test, a header
// line and a result line, into the result's numeric columns by name.
func parseCSVRow(out []byte) (map[string]float64, error) {
	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) != 2 {
		return nil, fmt.Errorf("got %d CSV rows, want a header and one result", len(rows))
	}
	row := make(map[string]float64, len(rows[0]))
	for i, name := range rows[0] {
		if i >= len(rows[1]) {
			break
		}
		if v, err := strconv.ParseFloat(rows[1][i], 64); err == nil {
			row[name] = v
		}
	}
	return row, nil
}

// benchRedisBenchmark runs rb for b.N operations of perOp commands each
// and reports redis-benchmark's own throughput as ns/op (the time of perOp
// commands), so that its row reads like the Go variants it bounds, and
// the CPU time per operation of redis-benchmark and of the server.
func benchRedisBenchmark(b *testing.B, srv *redistest.Server, rb redisBenchmark, perOp int) {
	m := startCPU(b, newClient(b, srv.Addr, 1))
	sent, rps, cpu := rb.run(b, srv, b.N*perOp)
	b.ReportMetric(float64(perOp)*1e9/rps, "ns/op")
	b.ReportMetric(rps, "cmds/s")
	// This process is idle meanwhile: count redis-benchmark's CPU only.
	m.client = processCPU(b)
	m.report(b, sent/perOp, cpu)
}

func TestParseRPS(t *testing.T) {
	out := []byte("\"test\",\"rps\",\"avg_latency_ms\"\n\"evalsha abc 1 k 1\",\"520000.00\",\"0.731\"\n")
	got, err := parseRPS(out)
	if err != nil || got != 520000 {
		t.Errorf("parseRPS = %v, %v; want 520000, nil", got, err)
	}
	if _, err := parseRPS([]byte("\"test\",\"rps\"\n")); err == nil {
		t.Error("parseRPS of a header alone: no error")
	}
}

func TestParseCSVRow(t *testing.T) {
	out := []byte("\"test\",\"rps\",\"p50_latency_ms\",\"p99_latency_ms\"\n\"evalsha abc 1 k 1\",\"17108.64\",\"0.039\",\"0.151\"\n")
	row, err := parseCSVRow(out)
	if err != nil || row["rps"] != 17108.64 || row["p50_latency_ms"] != 0.039 || row["p99_latency_ms"] != 0.151 {
		t.Errorf("parseCSVRow = %v, %v; want rps 17108.64, p50 0.039, p99 0.151", row, err)
	}
	if _, ok := row["test"]; ok {
		t.Error(`parseCSVRow kept the non-numeric "test" column`)
	}
}
