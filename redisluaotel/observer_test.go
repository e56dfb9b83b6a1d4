package redisluaotel

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/redistest"
	"github.com/redislua/redislua/lock"
	"github.com/redislua/redislua/ratelimit"
)

const incrSrc = "-- @key counter\n-- @arg by\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])"

// The secret values of the calls below: no span or attribute may hold them.
const (
	secretKey = "acct:{secret-key-4711}"
	secretArg = "987654321"
)

func TestOneSpanPerCallAcrossTheFallback(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	tm := newTelemetry(t)
	tm.instrument(t, c)
	ctx := context.Background()
	s := redislua.MustNewScript("counters/incr.lua", incrSrc)
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(ctx, c, []string{secretKey}, secretArg).Err(); err != nil {
		t.Fatal(err)
	}
	spans := tm.takeSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1 for EVALSHA + EVAL: %v", len(spans), spans)
	}
	sp := spans[0]
	a := attrs(sp)
	_, port, _ := strings.Cut(srv.Addr, ":")
	wantPort, _ := strconv.Atoi(port)
	want := map[attribute.Key]attribute.Value{
		semconv.DBSystemNameKey:          attribute.StringValue("redis"),
		semconv.DBOperationNameKey:       attribute.StringValue("EVALSHA"),
		semconv.DBStoredProcedureNameKey: attribute.StringValue("counters/incr.lua"),
		semconv.ServerAddressKey:         attribute.StringValue("127.0.0.1"),
		semconv.ServerPortKey:            attribute.IntValue(wantPort),
	}
	for k, v := range want {
		if a[k] != v {
			t.Errorf("attribute %s = %v, want %v", k, a[k].Emit(), v.Emit())
		}
	}
	if sp.Name != "EVALSHA counters/incr.lua" || sp.SpanKind != trace.SpanKindClient || sp.Status.Code == codes.Error {
		t.Errorf("span %q kind %v status %v", sp.Name, sp.SpanKind, sp.Status)
	}
	if len(sp.Events) != 1 || sp.Events[0].Name != FallbackEvent || sp.Events[0].Time.Before(sp.StartTime) || sp.Events[0].Time.After(sp.EndTime) {
		t.Errorf("events %+v, want one %s inside the span", sp.Events, FallbackEvent)
	}
	assertNoSecrets(t, spans)

	if n := tm.histogramCount(t, OperationDuration, semconv.DBStoredProcedureName("counters/incr.lua"), semconv.DBOperationName("EVALSHA"), semconv.ServerPort(wantPort)); n != 1 {
		t.Errorf("%s count %d, want 1", OperationDuration, n)
	}
	if n := tm.counterValue(t, Fallbacks, semconv.DBStoredProcedureName("counters/incr.lua")); n != 1 {
		t.Errorf("%s = %d, want 1", Fallbacks, n)
	}

	// Cached now: no fallback.
	if err := s.Run(ctx, c, []string{secretKey}, secretArg).Err(); err != nil {
		t.Fatal(err)
	}
	if spans := tm.takeSpans(); len(spans) != 1 || len(spans[0].Events) != 0 {
		t.Fatalf("second call's spans %v, want one without events", spans)
	}
	if n := tm.counterValue(t, Fallbacks); n != 1 {
		t.Errorf("%s = %d after a cached call, want still 1", Fallbacks, n)
	}
}

// assertNoSecrets fails if a span's name, attributes, events or status
// hold the calls' key, argument or a script's source.
func assertNoSecrets(t *testing.T, spans tracetest.SpanStubs) {
	t.Helper()
	for _, sp := range spans {
		texts := []string{sp.Name, sp.Status.Description}
		for _, kv := range sp.Attributes {
			texts = append(texts, kv.Value.Emit())
		}
		for _, ev := range sp.Events {
			texts = append(texts, ev.Name)
			for _, kv := range ev.Attributes {
				texts = append(texts, kv.Value.Emit())
			}
		}
		for _, text := range texts {
			for _, secret := range []string{"secret-key", secretArg, "redis.call"} {
				if strings.Contains(text, secret) {
					t.Errorf("span %q holds %q: %q", sp.Name, secret, text)
				}
			}
		}
	}
}

func TestErrorTypes(t *testing.T) {
	srv := redistest.Start(t, "--busy-reply-threshold", "100")
	ctx := context.Background()
	admin := srv.Client(t)
	if err := admin.Do(ctx, "ACL", "SETUSER", "limited", "on", ">pw", "~*", "&*", "+@all", "-incrby").Err(); err != nil {
		t.Fatal(err)
	}
	opts := srv.Client(t).Options()
	opts.Username, opts.Password = "limited", "pw"
	limited := redis.NewClient(opts)
	t.Cleanup(func() { _ = limited.Close() })
	c := srv.Client(t)
	tm := newTelemetry(t)
	for _, client := range []*redis.Client{c, limited} {
		tm.instrument(t, client)
	}
	reg, err := redislua.NewRegistry(nil, &redislua.RegistryOptions{ClusterChecks: true})
	if err != nil {
		t.Fatal(err)
	}
	mustAdd := func(name, src string) *redislua.Script {
		s, err := reg.Add(name, src)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	boom := mustAdd("boom.lua", "local x = 1\nerror('boom')")
	incr := mustAdd("incr.lua", incrSrc)
	set := mustAdd("set.lua", "return redis.call('SET', KEYS[1], ARGV[1])")
	pair := mustAdd("pair.lua", "return #KEYS")

	cases := []struct {
		name, errType, status string
		want                  error
		call                  func() error
	}{
		{"script error", "script_error", "ERR", nil, func() error { return boom.Run(ctx, c, nil).Err() }},
		{"cross slot, refused before sending", "CROSSSLOT", "", redislua.ErrCrossSlot, func() error {
			return pair.Run(ctx, c, []string{"a", "b"}).Err()
		}},
		// Redis 7.0 words a refusal inside a script "ERR ... can't run
		// this command": the status code is the server's, the type the
		// library's reading of it.
		{"ACL", "NOPERM", "ERR", redislua.ErrNoPerm, func() error {
			return incr.Run(ctx, limited, []string{"n"}, 1).Err()
		}},
		{"out of memory", "OOM", "OOM", redislua.ErrOOM, func() error {
			if err := admin.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
				t.Fatal(err)
			}
			defer admin.ConfigSet(ctx, "maxmemory", "0")
			return set.Run(ctx, c, []string{"k"}, "v").Err()
		}},
		{"busy", "BUSY", "BUSY", redislua.ErrBusy, func() error {
			runner := redis.NewClient(&redis.Options{Addr: srv.Addr, ReadTimeout: 30 * time.Second})
			defer runner.Close()
			spin := redislua.MustNewScript("spin.lua", "-- @key k\nlocal n = 0\nwhile true do n = n + 1 end\nreturn n")
			done := make(chan error, 1)
			go func() { done <- spin.Run(ctx, runner, []string{"spin"}).Err() }()
			defer func() {
				if err := redislua.KillScript(ctx, admin); err != nil {
					t.Errorf("KillScript: %v", err)
				}
				<-done
			}()
			// Until the spinning script passes the threshold, calls run
			// after it; the first BUSY is the one observed.
			for {
				tm.takeSpans()
				err := incr.Run(ctx, c, []string{"n"}, 1).Err()
				if errors.Is(err, redislua.ErrBusy) {
					return err
				}
				if err != nil {
					return err
				}
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tm.takeSpans()
			errsBefore := tm.counterValue(t, Errors, semconv.ErrorTypeKey.String(tc.errType))
			err := tc.call()
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("call = %v, want %v", err, tc.want)
			}
			spans := tm.takeSpans()
			if len(spans) != 1 {
				t.Fatalf("%d spans, want 1", len(spans))
			}
			a := attrs(spans[0])
			if got := a[semconv.ErrorTypeKey].AsString(); got != tc.errType {
				t.Errorf("error.type = %q, want %q", got, tc.errType)
			}
			if got := a[semconv.DBResponseStatusCodeKey].AsString(); got != tc.status {
				t.Errorf("db.response.status_code = %q, want %q", got, tc.status)
			}
			if spans[0].Status.Code != codes.Error {
				t.Errorf("status %v, want Error", spans[0].Status)
			}
			if n := tm.counterValue(t, Errors, semconv.ErrorTypeKey.String(tc.errType)); n != errsBefore+1 {
				t.Errorf("%s{error.type=%s} = %d, want %d", Errors, tc.errType, n, errsBefore+1)
			}
			assertNoSecrets(t, spans)
		})
	}

	// A nil reply is a result, not an error.
	get := mustAdd("get.lua", "return redis.call('GET', KEYS[1])")
	tm.takeSpans()
	if err := get.Run(ctx, c, []string{"missing"}).Err(); err != redis.Nil {
		t.Fatalf("Run = %v, want redis.Nil", err)
	}
	if spans := tm.takeSpans(); len(spans) != 1 || spans[0].Status.Code == codes.Error || attrs(spans[0])[semconv.ErrorTypeKey].AsString() != "" {
		t.Fatalf("nil reply's span %+v, want no error", spans)
	}
}

func TestPipelineIsOneSpan(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	if err := redislua.OptimizePipelines(c); err != nil {
		t.Fatal(err)
	}
	tm := newTelemetry(t)
	tm.instrument(t, c)
	ctx := context.Background()
	incr := redislua.MustNewScript("incr.lua", incrSrc)
	zero := redislua.MustNewScript("zero.lua", "return 0")
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		incr.Run(ctx, p, []string{secretKey}, secretArg)
		p.Get(ctx, secretKey)
		zero.Run(ctx, p, nil)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	spans := tm.takeSpans()
	if len(spans) != 1 || spans[0].Name != "PIPELINE" {
		t.Fatalf("spans %v, want one PIPELINE", spans)
	}
	a := attrs(spans[0])
	if got := a[ScriptsKey].AsStringSlice(); strings.Join(got, ",") != "incr.lua,zero.lua" {
		t.Errorf("%s = %v", ScriptsKey, got)
	}
	if got := a[semconv.DBOperationBatchSizeKey].AsInt64(); got != 3 {
		t.Errorf("batch size %d, want 3", got)
	}
	assertNoSecrets(t, spans)
	if n := tm.histogramCount(t, OperationDuration, semconv.DBOperationName("PIPELINE")); n != 1 {
		t.Errorf("pipeline durations %d, want 1", n)
	}

	// A pipeline of many calls of many scripts lists each script once, at
	// most MaxScripts of them.
	many := make([]*redislua.Script, 50)
	for i := range many {
		many[i] = redislua.MustNewScript(fmt.Sprintf("many/%02d.lua", i), "return 1")
	}
	_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for range 4 {
			for _, s := range many {
				s.Run(ctx, p, nil)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	spans = tm.takeSpans()
	got := attrs(spans[0])[ScriptsKey].AsStringSlice()
	if len(got) != MaxScripts || got[0] != "many/00.lua" || got[MaxScripts-1] != fmt.Sprintf("many/%02d.lua", MaxScripts-1) {
		t.Errorf("%s of 200 calls of 50 scripts = %v, want the first %d, once each", ScriptsKey, got, MaxScripts)
	}
	if n := attrs(spans[0])[semconv.DBOperationBatchSizeKey].AsInt64(); n != 200 {
		t.Errorf("batch size %d, want 200", n)
	}
}

// With go-redis's redisotel on the same client: one call span of ours,
// redisotel's command spans under it, and no measurement of ours twice.
func TestBesideRedisotel(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	tm := newTelemetry(t)
	if err := redisotel.InstrumentTracing(c, redisotel.WithTracerProvider(tm.opts.TracerProvider)); err != nil {
		t.Fatal(err)
	}
	if err := redisotel.InstrumentMetrics(c, redisotel.WithMeterProvider(tm.opts.MeterProvider)); err != nil {
		t.Fatal(err)
	}
	tm.instrument(t, c)
	ctx := context.Background()
	s := redislua.MustNewScript("incr.lua", incrSrc)
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	tm.spans.Reset()
	if err := s.Run(ctx, c, []string{"n"}, 1).Err(); err != nil {
		t.Fatal(err)
	}
	all := tm.spans.GetSpans()
	ours := tm.takeSpans()
	if len(ours) != 1 {
		t.Fatalf("%d spans of ours, want 1", len(ours))
	}
	var commands []string
	for _, sp := range all {
		if sp.InstrumentationScope.Name == ScopeName {
			continue
		}
		commands = append(commands, sp.Name)
		for _, kv := range sp.Attributes {
			if kv.Key == "db.statement" && strings.Contains(kv.Value.Emit(), "INCRBY") {
				t.Errorf("redisotel's %s span holds the source: %s", sp.Name, kv.Value.Emit())
			}
			if kv.Key == "db.statement" && sp.Name == "eval" && !strings.Contains(kv.Value.Emit(), "<script incr.lua>") {
				t.Errorf("redisotel's eval span: %s, want the script's name for its source", kv.Value.Emit())
			}
		}
		if sp.Parent.SpanID() != ours[0].SpanContext.SpanID() {
			t.Errorf("redisotel span %q has parent %v, want the call's span", sp.Name, sp.Parent.SpanID())
		}
	}
	if strings.Join(commands, ",") != "evalsha,eval" {
		t.Errorf("redisotel spans %v, want evalsha,eval", commands)
	}
	if n := tm.histogramCount(t, OperationDuration); n != 1 {
		t.Errorf("%s count %d, want 1 (redisotel records its own metrics)", OperationDuration, n)
	}
}

func TestPrimitiveMetrics(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	tm := newTelemetry(t)
	tm.instrument(t, c)
	ctx := context.Background()
	l, err := lock.New(c, "job", nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := lock.New(c, "job", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := other.TryAcquire(ctx); ok || err != nil {
		t.Fatalf("TryAcquire = %v, %v", ok, err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if n := tm.histogramCount(t, LockAcquireDuration, LockOutcomeKey.String("immediate")); n != 1 {
		t.Errorf("immediate acquisitions %d, want 1", n)
	}
	if n := tm.histogramCount(t, LockAcquireDuration, LockOutcomeKey.String("not_acquired")); n != 1 {
		t.Errorf("misses %d, want 1", n)
	}

	lim, err := ratelimit.New(c, 1, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := lim.Allow(ctx, "user"); err != nil {
			t.Fatal(err)
		}
	}
	allowed := tm.counterValue(t, RateLimitDecisions, RateLimitDecisionKey.String("allowed"), RateLimitAlgorithmKey.String("sliding_log"))
	refused := tm.counterValue(t, RateLimitDecisions, RateLimitDecisionKey.String("refused"))
	if allowed != 1 || refused != 2 {
		t.Errorf("decisions: %d allowed, %d refused; want 1 and 2", allowed, refused)
	}

	redislua.Notify(ctx, c, redislua.Event{Name: "mine.thing", Detail: "x"})
	if n := tm.counterValue(t, Events, EventNameKey.String("mine.thing"), EventDetailKey.String("x")); n != 1 {
		t.Errorf("%s = %d, want 1", Events, n)
	}
}

// On a cluster the span names the node that ran the script, known only
// once it answered.
func TestClusterSpanNamesTheNode(t *testing.T) {
	cc := redistest.SharedCluster(t).Client(t)
	tm := newTelemetry(t)
	tm.instrument(t, cc)
	ctx := context.Background()
	s := redislua.MustNewScript("incr.lua", incrSrc)
	for _, key := range []string{"otel:{a}", "otel:{b}", "otel:{c}"} {
		if err := s.Run(ctx, cc, []string{key}, 1).Err(); err != nil {
			t.Fatal(err)
		}
		master, err := cc.MasterForKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := strings.Cut(master.Options().Addr, ":")
		spans := tm.takeSpans()
		if len(spans) != 1 || attrs(spans[0])[semconv.ServerPortKey].Emit() != port {
			t.Fatalf("key %s: spans %v, want one with server.port %s", key, spans, port)
		}
	}
}

// With the global providers, which are no-ops until a program sets them,
// instrumenting works and records nothing.
func TestNoopProviders(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	if err := Instrument(c, nil); err != nil {
		t.Fatal(err)
	}
	s := redislua.MustNewScript("incr.lua", incrSrc)
	if n, err := s.Run(context.Background(), c, []string{"n"}, 2).Int64(); err != nil || n != 2 {
		t.Fatalf("Run = %d, %v", n, err)
	}
	// Explicit no-op providers are skipped: calls and events still work.
	c2 := srv.Client(t)
	if err := Instrument(c2, &Options{TracerProvider: tracenoop.NewTracerProvider(), MeterProvider: metricnoop.NewMeterProvider()}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Run(context.Background(), c2, []string{"n"}, 2).Int64(); err != nil || n != 4 {
		t.Fatalf("Run with no-op providers = %d, %v", n, err)
	}
	redislua.Notify(context.Background(), c2, redislua.Event{Name: lock.EventLost})

	// A no-op tracer beside a real meter: measurements, no spans.
	tm := newTelemetry(t)
	c3 := srv.Client(t)
	if err := Instrument(c3, &Options{TracerProvider: tracenoop.NewTracerProvider(), MeterProvider: tm.opts.MeterProvider}); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background(), c3, []string{"n"}, 1).Err(); err != nil {
		t.Fatal(err)
	}
	if n := tm.histogramCount(t, OperationDuration, semconv.DBStoredProcedureName("incr.lua")); n != 1 {
		t.Fatalf("%s count %d with a no-op tracer, want 1", OperationDuration, n)
	}

	var nilClient *redis.Client
	if err := Instrument(nilClient, nil); !errors.Is(err, redislua.ErrNilClient) {
		t.Fatalf("Instrument(nil) = %v, want ErrNilClient", err)
	}
}

// A call refused before sending for keys of several slots fails with an
// error that names the keys: the span says what went wrong without them.
func TestCrossSlotKeysStayOutOfSpans(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	tm := newTelemetry(t)
	tm.instrument(t, c)
	reg, err := redislua.NewRegistry(nil, &redislua.RegistryOptions{ClusterChecks: true})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := reg.Add("pair.lua", "return #KEYS")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	other := "acct:{secret-key-0815}"
	err = pair.Run(ctx, c, []string{secretKey, other}).Err()
	if !errors.Is(err, redislua.ErrCrossSlot) || !strings.Contains(err.Error(), "secret-key") {
		t.Fatalf("Run = %v, want a CrossSlotError naming the keys", err)
	}
	spans := tm.takeSpans()
	if len(spans) != 1 || spans[0].Status.Code != codes.Error || spans[0].Status.Description == "" {
		t.Fatalf("spans %+v, want one failed span with a description", spans)
	}
	if d := spans[0].Status.Description; !strings.Contains(d, "pair.lua") || !strings.Contains(d, "slot") {
		t.Errorf("status description %q, want the script and the slots", d)
	}
	assertNoSecrets(t, spans)
}

// RunAndWait on a cluster it cannot reach fails finding the master of
// the first key's slot: the span does not name the key.
func TestRunAndWaitUnreachableClusterKeepsTheKeyOutOfSpans(t *testing.T) {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}, MaxRedirects: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { _ = cc.Close() })
	tm := newTelemetry(t)
	tm.instrument(t, cc)
	s := redislua.MustNewScript("incr.lua", incrSrc)
	_, err := s.RunAndWait(context.Background(), cc, redislua.Replicas{N: 1, Timeout: 10 * time.Millisecond}, []string{secretKey}, secretArg)
	if err == nil {
		t.Fatal("RunAndWait on an unreachable cluster succeeded")
	}
	spans := tm.takeSpans()
	if len(spans) != 1 || spans[0].Status.Code != codes.Error {
		t.Fatalf("spans %+v, want one failed span", spans)
	}
	assertNoSecrets(t, spans)
}
