package redislua

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
)

const incrSrc = "return redis.call('INCRBY', KEYS[1], ARGV[1])"

func TestRunFallsBackToEvalOnNoScript(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := MustNewScript("incr", incrSrc)
		if err := b.client.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		b.sent.Take()

		got, err := s.Run(ctx, b.client, []string{"n"}, 5).Int64()
		if err != nil || got != 5 {
			t.Fatalf("first Run = %d, %v; want 5, nil", got, err)
		}
		if sent := b.sent.Take(); fmt.Sprint(sent) != "[evalsha eval]" {
			t.Fatalf("first Run sent %v, want [evalsha eval]", sent)
		}

		got, err = s.Run(ctx, b.client, []string{"n"}, 2).Int64()
		if err != nil || got != 7 {
			t.Fatalf("second Run = %d, %v; want 7, nil", got, err)
		}
		if sent := b.sent.Take(); fmt.Sprint(sent) != "[evalsha]" {
			t.Fatalf("second Run sent %v, want [evalsha]: EVAL must re-cache the script", sent)
		}
	})
}

func TestRunReturnsRedisNilUnchanged(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := MustNewScript("get", "return redis.call('GET', KEYS[1])")
		if err := s.Run(context.Background(), b.client, []string{"missing"}).Err(); err != redis.Nil {
			t.Fatalf("err = %v, want redis.Nil", err)
		}
	})
}

// Read-only scripts must use the _RO commands. On real Redis the proof is
// the server's own command statistics.
func TestReadOnlyScriptUsesROCommands(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := MustNewScript("get", "-- @readonly\nreturn redis.call('GET', KEYS[1])")
		b.client.Set(ctx, "k", "v", 0)
		b.client.ScriptFlush(ctx)
		b.sent.Take()
		for i := 0; i < 2; i++ {
			if got, err := s.Run(ctx, b.client, []string{"k"}).Text(); err != nil || got != "v" {
				t.Fatalf("Run = %q, %v", got, err)
			}
		}
		pipe := b.client.Pipeline()
		s.Run(ctx, pipe, []string{"k"})
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if sent := b.sent.Take(); fmt.Sprint(sent) != "[evalsha_ro eval_ro evalsha_ro eval_ro]" {
			t.Fatalf("sent %v, want [evalsha_ro eval_ro evalsha_ro eval_ro]", sent)
		}
		if b.real {
			stats := b.client.Info(ctx, "commandstats").Val()
			for _, want := range []string{"cmdstat_evalsha_ro:calls=2", "cmdstat_eval_ro:calls=2"} {
				if !strings.Contains(stats, want) {
					t.Errorf("server commandstats lack %q:\n%s", want, stats)
				}
			}
		}
	})
}

func TestPipelineAfterFlushHasNoNoScript(t *testing.T) {
	for _, tx := range []bool{false, true} {
		t.Run(fmt.Sprintf("tx=%v", tx), func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b backend) {
				ctx := context.Background()
				s := MustNewScript("incr", incrSrc)
				b.client.ScriptFlush(ctx)
				b.sent.Take()
				var pipe redis.Pipeliner = b.client.Pipeline()
				if tx {
					pipe = b.client.TxPipeline()
				}
				cmds := make([]*redis.Cmd, 100)
				for i := range cmds {
					cmds[i] = s.Run(ctx, pipe, []string{"p"}, 1)
				}
				if _, err := pipe.Exec(ctx); err != nil {
					t.Fatalf("Exec: %v", err)
				}
				for i, cmd := range cmds {
					if got, err := cmd.Int64(); err != nil || got != int64(i+1) {
						t.Fatalf("call %d = %d, %v; want %d", i, got, err, i+1)
					}
				}
				if n := count(b.sent.Take(), "eval"); n != 100 {
					t.Fatalf("pipeline sent %d EVAL, want 100", n)
				}
			})
		})
	}
}

// 32 goroutines run scripts while another flushes the script cache in a
// loop: every call must succeed with the right result.
func TestConcurrentRunWhileFlushing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := MustNewScript("incr", incrSrc)
		const workers, calls = 32, 50
		var (
			wg      sync.WaitGroup
			done    = make(chan struct{})
			flushes atomic.Int64
			errs    = make(chan error, workers*calls)
		)
		go func() {
			for {
				select {
				case <-done:
					return
				default:
					if err := b.client.ScriptFlush(ctx).Err(); err == nil {
						flushes.Add(1)
					}
				}
			}
		}()
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				key := "c:" + strconv.Itoa(w)
				for i := 1; i <= calls; i++ {
					got, err := s.Run(ctx, b.client, []string{key}, 1).Int64()
					if err != nil {
						errs <- err
					} else if got != int64(i) {
						errs <- fmt.Errorf("%s = %d after %d calls", key, got, i)
					}
				}
			}(w)
		}
		wg.Wait()
		close(done)
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if flushes.Load() == 0 {
			t.Fatal("the cache was never flushed during the run")
		}
		t.Logf("%d flushes during %d calls", flushes.Load(), workers*calls)
	})
}

func TestRunAcceptsEveryClientKind(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	s := MustNewScript("incr", incrSrc)
	opts := b.client.Options()
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"one": opts.Addr}})
	t.Cleanup(func() { _ = ring.Close() })
	conn := b.client.Conn()
	t.Cleanup(func() { _ = conn.Close() })
	for _, c := range []redis.Scripter{b.client, ring, conn} {
		if err := s.Run(ctx, c, []string{"kinds"}, 1).Err(); err != nil {
			t.Errorf("Run on %T: %v", c, err)
		}
	}
	if got := b.client.Get(ctx, "kinds").Val(); got != "3" {
		t.Fatalf("kinds = %s, want 3", got)
	}
}

func TestRunDoesNotResendOnOtherErrors(t *testing.T) {
	b := forMiniredis(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := MustNewScript("incr", incrSrc).Run(ctx, b.client, []string{"k"}, 1).Err()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := count(b.sent.Take(), "eval"); n != 0 {
		t.Fatalf("sent EVAL %d times after a non-NOSCRIPT error, want 0", n)
	}
}

// Run builds EVALSHA itself; what reaches the server must be what go-redis's
// own Eval methods send, including the flattening of a lone slice argument.
func TestRunSendsWhatGoRedisSends(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := MustNewScript("echo", "return {#KEYS, unpack(ARGV)}")
		ap, err := b.client.AutoPipeline()
		if err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]any{
			nil,
			{"x"},
			{1, "two", 3.5, true, []byte("b")},
			{[]string{"p", "q"}},
			{map[string]string{"k": "v"}},
			{struct {
				A string `redis:"a"`
				B int    `redis:"b"`
			}{"x", 2}}, // through go-redis's methods, which flatten it
		} {
			want, err := b.client.Eval(ctx, s.Source(), []string{"k1", "k2"}, args...).Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []redis.Scripter{b.client, scripterOnly{b.client}, ap} {
				got, err := s.Run(ctx, c, []string{"k1", "k2"}, args...).Result()
				if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("Run(%T, %v) = %v, %v; want %v", c, args, got, err, want)
				}
			}
		}
	})
}

// scripterOnly hides every method but redis.Scripter's.
type scripterOnly struct{ redis.Scripter }

// A script whose outcome is unknown (a timeout, a lost connection) is
// never run twice, even with go-redis's default MaxRetries (3): before Run
// marked its commands NoRetry, go-redis sent the EVALSHA again after a read
// timeout, on a new connection, and the server ran it 4 times. The reply is
// held back by a proxy until Run has returned, so the read timeout fires
// however the goroutines are scheduled; EVALSHA is counted where the client
// writes it, since a hook sees one command.
func TestRunIsSentOnceWhenTheReplyTimesOut(t *testing.T) {
	// Through an AutoPipeliner too: go-redis retries a pipeline whose
	// commands are all retryable, and the blocking face with a context
	// that cannot end goes straight to ap.Process.
	for _, via := range []string{"client", "autopipeliner", "async-autopipeliner"} {
		t.Run(via, func(t *testing.T) { testSentOnceWhenTheReplyTimesOut(t, via) })
	}
}

func testSentOnceWhenTheReplyTimesOut(t *testing.T, via string) {
	srv := redistest.Start(t)
	ctx := context.Background()
	direct := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = direct.Close() })
	s := MustNewScript("count", "-- @key runs\nreturn redis.call('INCR', KEYS[1])")
	if err := s.Load(ctx, direct); err != nil { // no NOSCRIPT: EVALSHA runs
		t.Fatal(err)
	}
	proxy := newReplyHold(t, srv.Addr)
	var sent atomic.Int64
	c := redis.NewClient(&redis.Options{
		Addr:        proxy.Addr(),
		ReadTimeout: 100 * time.Millisecond, // MaxRetries left at go-redis's default
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return evalShaCounter{Conn: conn, n: &sent}, nil
		},
	})
	t.Cleanup(func() { _ = c.Close() })
	var target redis.Scripter = c
	switch via {
	case "autopipeliner":
		ap, err := c.AutoPipeline()
		if err != nil {
			t.Fatal(err)
		}
		target = ap
	case "async-autopipeliner":
		ap, err := c.AsyncAutoPipeline()
		if err != nil {
			t.Fatal(err)
		}
		target = ap
	}
	err := s.Run(ctx, target, []string{"runs"}).Err()
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Fatalf("Run = %v, want a read timeout", err)
	}
	// go-redis has made all its attempts when Run returns.
	if n := sent.Load(); n != 1 {
		t.Errorf("one Run whose reply timed out wrote EVALSHA %d times, want once", n)
	}
	proxy.Release()
	// The script ran once; a resent EVALSHA would run it again. Written
	// through the proxy, so wait for it.
	waitFor(t, 5*time.Second, "the script to run", func() bool { return direct.Get(ctx, "runs").Val() != "" })
	if n, err := direct.Get(ctx, "runs").Int(); n != int(sent.Load()) || err != nil {
		t.Errorf("runs = %d, %v; want %d, one per EVALSHA written", n, err, sent.Load())
	}
}

// evalShaCounter is a net.Conn that counts the EVALSHA commands written
// on it (go-redis writes one command per Write).
type evalShaCounter struct {
	net.Conn
	n *atomic.Int64
}

func (c evalShaCounter) Write(b []byte) (int, error) {
	if bytes.Contains(bytes.ToLower(b), []byte("evalsha")) {
		c.n.Add(1)
	}
	return c.Conn.Write(b)
}

// replyHold is a TCP proxy in front of a server. Once a connection has
// carried an EVALSHA to the server, nothing more comes back on it until
// Release: the script runs, and its caller waits for a reply that only
// Release lets through. Other connections, and commands before the
// EVALSHA (go-redis's handshake), pass as they are.
type replyHold struct {
	*redistest.Proxy
	release chan struct{}
	once    sync.Once
}

// newReplyHold starts a proxy to target on a free loopback port and stops
// it, closing every connection, in t.Cleanup.
func newReplyHold(t *testing.T, target string) *replyHold {
	t.Helper()
	p := &replyHold{release: make(chan struct{})}
	p.Proxy = redistest.StartProxy(t, target, func() (toServer, toClient redistest.Filter) {
		var held atomic.Bool
		toServer = func(seen []byte) bool {
			if bytes.Contains(bytes.ToLower(seen), []byte("evalsha")) {
				held.Store(true) // before the server can reply to it
			}
			return true
		}
		toClient = func([]byte) bool {
			if held.Load() {
				<-p.release
			}
			return true
		}
		return toServer, toClient
	})
	t.Cleanup(p.Release) // before the proxy closes: it waits for its filters
	return p
}

// Release lets the held replies through, and every later one.
func (p *replyHold) Release() { p.once.Do(func() { close(p.release) }) }

// quantitySrc counts its runs in KEYS[1], then refuses the call with a
// reply that carries the caller's ARGV[1].
const quantitySrc = "redis.call('INCR', KEYS[1])\nreturn redis.error_reply('ERR invalid quantity ' .. ARGV[1])"

// A script's reply that carries the word NOSCRIPT from the caller's data
// is the script's reply: the script ran, and is not sent again.
func TestRunSendsOnceWhenTheCallersDataSaysNoScript(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := MustNewScript("quantity", quantitySrc)
		if err := s.Load(ctx, b.client); err != nil {
			t.Fatal(err)
		}
		b.sent.Take()
		err := s.Run(ctx, b.client, []string{"runs"}, "NOSCRIPT").Err()
		if want := "ERR invalid quantity NOSCRIPT"; err == nil || err.Error() != want {
			t.Errorf("err = %v, want the script's reply %q", err, want)
		}
		if errors.Is(err, ErrNoScript) {
			t.Error("the script's reply reads as ErrNoScript")
		}
		if got := b.sent.Take(); len(got) != 1 || got[0] != "evalsha" {
			t.Errorf("sent %v, want one evalsha", got)
		}
		if n, _ := b.client.Get(ctx, "runs").Int(); n != 1 {
			t.Errorf("the script ran %d times, want 1", n)
		}
	})
}

// noScriptHook answers every EVALSHA with reply instead of sending it, as
// a server that does not have the script does.
type noScriptHook struct{ reply string }

func (noScriptHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h noScriptHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == cmdEvalSha {
			return redisReply(h.reply)
		}
		return next(ctx, cmd)
	}
}

func (noScriptHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// redisReply is an error reply, as go-redis reads one from the server.
type redisReply string

func (e redisReply) Error() string { return string(e) }

func (redisReply) RedisError() {}

// Each form of NOSCRIPT that a server is known to send makes Run send the
// script once with EVAL: Redis's, and older Kvrocks's behind "ERR ".
func TestRunFallsBackToEvalOnEachKnownNoScriptForm(t *testing.T) {
	for _, reply := range []string{
		"NOSCRIPT No matching script. Please use EVAL.",
		"NOSCRIPT No matching script. Please use EVAL",
		"ERR NOSCRIPT No matching script. Please use EVAL",
	} {
		t.Run(reply, func(t *testing.T) {
			b := forMiniredis(t)
			b.client.AddHook(noScriptHook{reply: reply})
			ctx := context.Background()
			s := MustNewScript("incr", incrSrc)
			if got, err := s.Run(ctx, b.client, []string{"n"}, 1).Int64(); got != 1 || err != nil {
				t.Fatalf("Run = %d, %v; want 1, nil", got, err)
			}
			if got := b.sent.Take(); len(got) != 2 || got[0] != "evalsha" || got[1] != "eval" {
				t.Errorf("sent %v, want evalsha then eval", got)
			}
		})
	}
}

func TestDeclaredCountsAreCheckedBeforeSending(t *testing.T) {
	b := forMiniredis(t)
	ctx := context.Background()
	s := MustNewScript("transfer", transferHeader)
	tests := []struct {
		keys []string
		args []any
		want error
		msg  string
	}{
		{[]string{"{a}1"}, []any{1}, ErrKeyCount, "script transfer takes 2 keys (from to), got 1"},
		{[]string{"{a}1", "{a}2", "{a}3"}, []any{1}, ErrKeyCount, "got 3"},
		{[]string{"{a}1", "{a}2"}, nil, ErrArgCount, "script transfer takes 1 to 2 args (amount [id]), got 0"},
		{[]string{"{a}1", "{a}2"}, []any{1, "id", "extra"}, ErrArgCount, "got 3"},
		{[]string{"{a}1", "{a}2"}, []any{[]string{"1", "id", "x"}}, ErrArgCount, "got 3"},
	}
	for _, tt := range tests {
		err := s.Run(ctx, b.client, tt.keys, tt.args...).Err()
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Run(%v, %v) = %v, want %v containing %q", tt.keys, tt.args, err, tt.want, tt.msg)
		}
		var ce *CountError
		if !errors.As(err, &ce) {
			t.Errorf("Run(%v, %v): not a *CountError", tt.keys, tt.args)
		}
	}
	if sent := b.sent.Take(); len(sent) != 0 {
		t.Fatalf("sent %v", sent)
	}
	none := MustNewScript("none", "-- @key k\nreturn 1")
	if err := none.Run(ctx, b.client, []string{"k"}, 1).Err(); err == nil || !strings.HasSuffix(err.Error(), "takes no args, got 1") {
		t.Errorf("declared keys, no args: %v", err)
	}
	b.sent.Take()
	for _, args := range [][]any{{1}, {1, "id"}} {
		if err := s.Run(ctx, b.client, []string{"{a}1", "{a}2"}, args...).Err(); err != nil {
			t.Errorf("Run with %v: %v", args, err)
		}
	}
}

func TestVariadicAndUndeclaredScriptsAcceptAnyCount(t *testing.T) {
	b := forMiniredis(t)
	ctx := context.Background()
	variadic := MustNewScript("v", "-- @key first\n-- @key rest...\nreturn #KEYS")
	undeclared := MustNewScript("u", "return #KEYS")
	if err := variadic.Run(ctx, b.client, nil).Err(); !errors.Is(err, ErrKeyCount) {
		t.Errorf("variadic with no keys = %v, want ErrKeyCount (first is required)", err)
	}
	for _, keys := range [][]string{{"a"}, {"a", "b", "c"}} {
		if n, err := variadic.Run(ctx, b.client, keys).Int64(); err != nil || n != int64(len(keys)) {
			t.Errorf("variadic with %v = %d, %v", keys, n, err)
		}
		if n, err := undeclared.Run(ctx, b.client, keys, 1, 2, 3).Int64(); err != nil || n != int64(len(keys)) {
			t.Errorf("undeclared with %v = %d, %v", keys, n, err)
		}
	}
}

// waitFor polls cond every few milliseconds until it holds, and fails the
// test if it does not within d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
