package redistest

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestStartAnswersPing(t *testing.T) {
	t.Parallel()
	begin := time.Now()
	s := Start(t)
	t.Logf("standalone server ready in %v", time.Since(begin))

	if got, err := s.Client(t).Ping(context.Background()).Result(); err != nil || got != "PONG" {
		t.Fatalf("PING = %q, %v; want PONG", got, err)
	}
	host, port, _ := net.SplitHostPort(s.Addr)
	if host != "127.0.0.1" || port != strconv.Itoa(s.Port) {
		t.Errorf("Addr = %q, Port = %d; want 127.0.0.1:%d", s.Addr, s.Port, s.Port)
	}
	if s.Pid() <= 0 {
		t.Errorf("Pid() = %d, want a process id", s.Pid())
	}
	if !strings.Contains(s.LogTail(50), "Ready to accept connections") {
		t.Errorf("LogTail(50) = %q, want the ready line", s.LogTail(50))
	}
}

func TestStopStopsProcess(t *testing.T) {
	t.Parallel()
	s := Start(t)
	pid := s.Pid()
	s.Stop()
	assertGone(t, s, pid)
	s.Stop() // idempotent
	s.Kill()
}

func TestKillStopsProcess(t *testing.T) {
	t.Parallel()
	s := Start(t)
	pid := s.Pid()
	s.Kill()
	assertGone(t, s, pid)
	s.Kill() // idempotent
	s.Stop()
}

// assertGone checks that pid no longer exists and s.Addr refuses connections.
func assertGone(t *testing.T, s *Server, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill(%d, 0) = %v, want ESRCH", pid, err)
	}
	conn, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err == nil {
		conn.Close()
		t.Fatalf("dial %s after stop: connected, want connection refused", s.Addr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial %s after stop: %v, want connection refused", s.Addr, err)
	}
}

func TestRestartSamePortEmptyDataset(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := Start(t)
	c := s.Client(t)
	if err := c.Set(ctx, "restart:key", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	port, pid := s.Port, s.Pid()

	for _, crash := range []bool{false, true} {
		if crash {
			s.Kill()
		}
		s.Restart(t)
		if s.Port != port || s.Addr != "127.0.0.1:"+strconv.Itoa(port) {
			t.Errorf("after restart Addr = %s, want port %d", s.Addr, port)
		}
		if s.Pid() == pid {
			t.Errorf("after restart Pid() = %d, the old process", pid)
		}
		pid = s.Pid()
		n, err := c.DBSize(ctx).Result()
		if err != nil || n != 0 {
			t.Errorf("DBSIZE after restart = %d, %v; want 0", n, err)
		}
	}
}

func TestExtraArgsReachServer(t *testing.T) {
	t.Parallel()
	s := Start(t, "--maxmemory", "1mb", "--maxmemory-policy", "noeviction")
	got, err := s.Client(t).ConfigGet(context.Background(), "maxmemory*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if got["maxmemory"] != "1048576" || got["maxmemory-policy"] != "noeviction" {
		t.Errorf("CONFIG GET maxmemory* = %v, want maxmemory 1048576 and noeviction", got)
	}
	// The defaults hold too.
	for key, want := range map[string]string{"save": "", "appendonly": "no", "bind": "127.0.0.1", "dir": s.Dir} {
		got, err := s.Client(t).ConfigGet(context.Background(), key).Result()
		if err != nil || got[key] != want {
			t.Errorf("CONFIG GET %s = %q, %v; want %q", key, got[key], err, want)
		}
	}
}

func TestBadArgsReportLog(t *testing.T) {
	t.Parallel()
	RequireRedis(t)
	_, err := launch(t.TempDir(), false, []string{"--no-such-directive", "x"})
	if err == nil {
		t.Fatal("launch with a bad directive succeeded")
	}
	if errors.Is(err, errAddrInUse) || !strings.Contains(err.Error(), "no-such-directive") {
		t.Errorf("launch error = %v, want the log tail naming the bad directive", err)
	}
}

func TestPortTakenIsAddrInUse(t *testing.T) {
	t.Parallel()
	RequireRedis(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	dir := t.TempDir()
	s := &Server{Addr: l.Addr().String(), Port: port, Dir: dir, logPath: dir + "/" + logFileName}
	s.args = baseArgs(dir, port, s.logPath)
	s.mu.Lock()
	err = s.start()
	s.mu.Unlock()
	defer s.Stop()
	if !errors.Is(err, errAddrInUse) {
		t.Errorf("start on a taken port: %v, want errAddrInUse", err)
	}
}

func TestFreePort(t *testing.T) {
	port := FreePort(t)
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("listen on FreePort %d: %v", port, err)
	}
	l.Close()

	ports, err := freePorts(20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Fatalf("freePorts(20) = %v, has %d twice", ports, p)
		}
		seen[p] = true
	}
}

func TestLastLines(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc"},
		{"a\nb\nc", 5, "a\nb\nc"},
		{"", 3, ""},
	}
	for _, tt := range tests {
		if got := lastLines(tt.in, tt.n); got != tt.want {
			t.Errorf("lastLines(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		s := Start(b)
		b.StopTimer()
		s.Stop()
		b.StartTimer()
	}
}

func TestStartWithPassword(t *testing.T) {
	t.Parallel()
	// Readiness and Stop cope with a server that answers NOAUTH.
	s := Start(t, "--requirepass", "secret")
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Password: "secret"})
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("PING with password: %v", err)
	}
	pid := s.Pid()
	s.Stop()
	assertGone(t, s, pid)
}
