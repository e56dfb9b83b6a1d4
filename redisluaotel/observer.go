package redisluaotel

import (
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/redislua/redislua"
)

// ScopeName is the instrumentation scope of the spans and instruments.
const ScopeName = "github.com/redislua/redislua/redisluaotel"

// Attribute keys of the library's own, beside the semantic conventions'.
const (
	// ScriptsKey lists the scripts and Functions a pipeline carried, each
	// once, in the order of their first call, at most MaxScripts of them.
	ScriptsKey = attribute.Key("redislua.scripts")
	// FallbackEvent is the span event of a call sent again because the
	// server did not have its script (NOSCRIPT) or Function library.
	FallbackEvent = "redislua.fallback"
)

// Observer turns the library's calls and events into spans and
// measurements. It implements redislua.Observer; Instrument installs one
// on a client.
type Observer struct {
	tracer  trace.Tracer // nil for a no-op provider
	extra   []attribute.KeyValue
	metrics *instruments // nil for a no-op provider

	mu    sync.Mutex                        // held to add a site
	sites atomic.Pointer[map[siteKey]*site] // copied on write
}

// A site is what the spans and measurements of one script, command and
// server share, made once.
type siteKey struct {
	command, name, addr string
}

type site struct {
	key       siteKey
	spanName  string
	startOpts []trace.SpanStartOption
	attrs     []attribute.KeyValue  // also on the measurements
	server    []attribute.KeyValue  // server.address and server.port
	record    []metric.RecordOption // the attributes, as Record takes them
	add       []metric.AddOption    // the same, as Add takes them
}

var _ redislua.Observer = (*Observer)(nil)

// New returns an Observer on the providers opts names (the global ones by
// default). It fails only if the meter cannot make an instrument.
func New(opts *Options) (*Observer, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.TracerProvider == nil {
		o.TracerProvider = otel.GetTracerProvider()
	}
	if o.MeterProvider == nil {
		o.MeterProvider = otel.GetMeterProvider()
	}
	m, err := newInstruments(o.MeterProvider.Meter(ScopeName))
	if err != nil {
		return nil, fmt.Errorf("redisluaotel: %w", err)
	}
	obs := &Observer{extra: append([]attribute.KeyValue(nil), o.Attributes...)}
	// OpenTelemetry's no-op providers record nothing: skip them, and the
	// context each span start allocates. (The global providers delegate
	// to whatever a program sets later, so they are always used.)
	if _, ok := o.TracerProvider.(tracenoop.TracerProvider); !ok {
		obs.tracer = o.TracerProvider.Tracer(ScopeName)
	}
	if _, ok := o.MeterProvider.(metricnoop.MeterProvider); !ok {
		obs.metrics = m
	}
	obs.sites.Store(&map[siteKey]*site{})
	return obs, nil
}

// Instrument reports the script and Function calls made through c, and
// the prebuilt packages' events on c, with an Observer made by New(opts)
// (see redislua.Observe for what is observed). Call it once, when the
// client is created; a second call replaces the first.
func Instrument(c redis.UniversalClient, opts *Options) error {
	o, err := New(opts)
	if err != nil {
		return err
	}
	return redislua.Observe(c, o)
}

// siteOf returns the shared parts of the spans and measurements of calls
// of name by command on addr.
func (o *Observer) siteOf(command, name, addr string) *site {
	key := siteKey{command, name, addr}
	if s := (*o.sites.Load())[key]; s != nil {
		return s
	}
	attrs := []attribute.KeyValue{semconv.DBSystemNameRedis, semconv.DBOperationName(command)}
	spanName := command
	if name != "" {
		attrs = append(attrs, semconv.DBStoredProcedureName(name))
		spanName += " " + name
	}
	var server []attribute.KeyValue
	if host, port, err := net.SplitHostPort(addr); err == nil {
		server = append(server, semconv.ServerAddress(host))
		if p, err := strconv.Atoi(port); err == nil {
			server = append(server, semconv.ServerPort(p))
		}
	}
	attrs = append(attrs, server...)
	attrs = append(attrs, o.extra...)
	s := &site{
		key:       key,
		server:    server,
		spanName:  spanName,
		startOpts: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...)},
		attrs:     attrs,
	}
	set := metric.WithAttributeSet(attribute.NewSet(attrs...))
	s.record = []metric.RecordOption{set}
	s.add = []metric.AddOption{set}
	o.mu.Lock()
	defer o.mu.Unlock()
	if old := *o.sites.Load(); len(old) < maxSites {
		sites := make(map[siteKey]*site, len(old)+1)
		maps.Copy(sites, old)
		sites[key] = s
		o.sites.Store(&sites)
	}
	return s
}

// MaxScripts is the most names ScriptsKey lists: a pipeline of
// thousands of calls of many scripts must not make a span of that size.
const MaxScripts = 32

// distinctScripts returns names without repeats, in order, at most
// MaxScripts of them.
func distinctScripts(names []string) []string {
	out := make([]string, 0, min(len(names), MaxScripts))
	for _, name := range names {
		if len(out) == MaxScripts {
			break
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// maxSites bounds the cache of sites: scripts and servers are few, but a
// program that makes scripts on the fly must not grow it without end.
const maxSites = 4096

// StartCall starts the call's span. The server of a cluster call is known
// only once it answered: EndCall adds it.
func (o *Observer) StartCall(ctx context.Context, call *redislua.Call) context.Context {
	if o.tracer == nil && o.metrics == nil {
		return ctx
	}
	s := o.siteOf(call.Command, call.Name, call.Addr)
	call.State = s
	if o.tracer == nil {
		return ctx
	}
	ctx, span := o.tracer.Start(ctx, s.spanName, s.startOpts...)
	if call.Scripts != nil && span.IsRecording() {
		span.SetAttributes(ScriptsKey.StringSlice(distinctScripts(call.Scripts)), semconv.DBOperationBatchSize(call.Keys))
	}
	return ctx
}

// EndCall ends the call's span and records its duration, fallback and
// error.
func (o *Observer) EndCall(ctx context.Context, call *redislua.Call, err error) {
	if o.tracer == nil && o.metrics == nil {
		return
	}
	elapsed := time.Since(call.Start).Seconds()
	s, ok := call.State.(*site)
	late := !ok || s.key.addr != call.Addr // a cluster's node, known now
	if late {
		s = o.siteOf(call.Command, call.Name, call.Addr)
	}
	fellBack := !call.FallbackAt.IsZero()
	errType := errorType(err)
	if o.tracer != nil {
		o.endSpan(trace.SpanFromContext(ctx), call, s, late, errType, err)
	}
	if o.metrics == nil {
		return
	}
	if errType == "" {
		o.metrics.duration.Record(ctx, elapsed, s.record...)
	} else {
		failed := metric.WithAttributes(append(s.attrs[:len(s.attrs):len(s.attrs)], semconv.ErrorTypeKey.String(errType))...)
		o.metrics.duration.Record(ctx, elapsed, failed)
		o.metrics.errors.Add(ctx, 1, failed)
	}
	if fellBack {
		o.metrics.fallbacks.Add(ctx, 1, s.add...)
	}
}

// Notify records an event of the lock or ratelimit package (and counts
// any other in redislua.events).
func (o *Observer) Notify(ctx context.Context, ev redislua.Event) {
	if o.metrics != nil {
		o.metrics.event(ctx, ev, o.extra)
	}
}

// endSpan ends the call's span with its fallback event, its error and,
// when it came late (a cluster's node), its server.
func (o *Observer) endSpan(span trace.Span, call *redislua.Call, s *site, late bool, errType string, err error) {
	if span.IsRecording() {
		if !call.FallbackAt.IsZero() {
			span.AddEvent(FallbackEvent, trace.WithTimestamp(call.FallbackAt))
		}
		if errType != "" {
			span.SetAttributes(semconv.ErrorTypeKey.String(errType))
			if code := statusCode(err); code != "" {
				span.SetAttributes(semconv.DBResponseStatusCode(code))
			}
			span.SetStatus(codes.Error, statusDescription(err))
		}
		if late {
			span.SetAttributes(s.server...)
		}
	}
	span.End()
}
