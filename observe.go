package redislua

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
	"weak"

	"github.com/redis/go-redis/v9"
)

// An Observer hears about the script and Function calls made through the
// clients it observes (see Observe), and about the events the packages
// built on scripts report (see Notify). The module's OpenTelemetry
// instrumentation, github.com/redislua/redislua/redisluaotel, is one;
// another (logs, Prometheus) implements the same three methods.
//
// The methods run on the caller's goroutine, in the call's path: they must
// be quick, must not block, and must be safe for concurrent use.
type Observer interface {
	// StartCall is called before the first command of a call is sent. The
	// call's commands are sent with the context it returns (a tracer puts
	// its span there), which EndCall gets back.
	StartCall(ctx context.Context, call *Call) context.Context

	// EndCall is called once the call has its result, with the error the
	// call returns (nil on success; redis.Nil for a nil reply; for a
	// pipeline, the first failed command's, a script's mapped as
	// OptimizePipelines maps it). The
	// observer must not keep call after EndCall returns.
	EndCall(ctx context.Context, call *Call, err error)

	// Notify is called with an event reported through Notify.
	Notify(ctx context.Context, ev Event)
}

// Call describes one logical call for an Observer: a Script.Run or
// Function.Call, whose NOSCRIPT (or "function not found") fallback is part
// of the same call, or a pipeline or transaction that carried scripts or
// Function calls.
type Call struct {
	// Name is the script's name, "library.function" for a Function, and
	// empty for a pipeline.
	Name string
	// Command is the first command sent, in upper case: EVALSHA,
	// EVALSHA_RO, FCALL or FCALL_RO; PIPELINE or MULTI (a transaction)
	// for a pipeline.
	Command string
	// Addr is the server's "host:port" when it is known: the client's
	// address for a *redis.Client, and the node that answered on a
	// *redis.ClusterClient. Empty for a Ring and for a cluster pipeline,
	// which may go to several nodes.
	Addr string
	// Keys is the number of keys the call passes; for a pipeline, the
	// number of commands it carries (MULTI and EXEC not counted).
	Keys int
	// Start is when StartCall was called.
	Start time.Time
	// FallbackAt is when the call was sent again because the server did
	// not have the script (NOSCRIPT: sent again with EVAL) or the
	// Function's library (loaded again, then called again); zero if it
	// was not.
	FallbackAt time.Time
	// Scripts names, for a pipeline, the script or Function of each of
	// its calls, in order; nil otherwise.
	Scripts []string
	// State is the Observer's own, from StartCall to EndCall: what it
	// worked out at the start of the call and needs at its end.
	State any
}

// Event is something that a package built on scripts reports through
// Notify, beyond what the spans of its script calls say: the lock and
// ratelimit packages report acquisitions, hand-offs, lost locks and
// decisions (docs/observability.md lists them).
type Event struct {
	// Name is "<package>.<what>", such as "lock.acquired".
	Name string
	// Duration is how long the operation took or waited, if it says.
	Duration time.Duration
	// Detail qualifies Name with a word from a short fixed set (never a
	// key or a value), such as the algorithm of a rate limiter.
	Detail string
}

// observers holds the observation of each client passed to Observe, by
// the client's address: a key that does not keep the client alive, and
// whose lookup takes no lock (weak.Make takes one). The observation's
// weak pointer tells a live client from a dead one whose address a new
// client reuses; the entry goes when its client is garbage collected.
var observers sync.Map // uintptr -> *observation

// observedClients counts the entries of observers, so that a program that
// observes no client pays one atomic load per call.
var observedClients atomic.Int32

// observation is the observer of one client, replaced by later Observe
// calls on it.
type observation struct {
	o      atomic.Pointer[Observer] // nil: not observed
	client func() any               // the client, or nil once collected
}

// callPool recycles the Calls passed to observers, which must not keep
// them after EndCall.
var callPool = sync.Pool{New: func() any { return new(Call) }}

// newCall returns a Call from the pool, set to c.
func newCall(c Call) *Call {
	call := callPool.Get().(*Call)
	*call = c
	return call
}

// startCall tells o that call starts, and returns the context to send
// with: the one o returns, unless that is nil.
func startCall(ctx context.Context, o Observer, call *Call) context.Context {
	if octx := o.StartCall(ctx, call); octx != nil {
		return octx
	}
	return ctx
}

// endCall tells o that call ended with err, and recycles call.
func endCall(ctx context.Context, o Observer, call *Call, err error) {
	o.EndCall(ctx, call, err)
	*call = Call{}
	callPool.Put(call)
}

// Observe makes o hear about every script and Function call made through
// c, a *redis.Client, *redis.ClusterClient or *redis.Ring: each Run or
// Call once (with its fallback), each pipeline or transaction of c that
// carries such calls once, and the events that packages built on scripts
// report for calls on c. Calls through an *redis.AutoPipeliner made from c
// are calls through c, each heard once as a call; the AutoPipeliner's
// batches are not reported as pipelines. Observe given an AutoPipeliner
// observes its client. Call it once, when the client is created; a later
// call replaces the observer, and a nil o (or a nil pointer of an Observer
// type) stops the observation.
//
// What is not observed: calls through a *redis.Conn, a *redis.Tx used
// directly (not as a pipeline), a clone of c made by WithTimeout (another
// client: observe it too) or a caller's own client type; the
// transactions run by Watch on a *redis.ClusterClient or *redis.Ring,
// which go-redis sends through the client of one node or shard, not
// through c; and Load, Exists and Library.Load, which are not calls of a
// script.
//
// With no client observed, each call costs one atomic load more; with an
// observer, the observer's own cost plus one lookup by client.
func Observe(c redis.UniversalClient, o Observer) error {
	if isNilClient(c) {
		return fmt.Errorf("%w: Observe", ErrNilClient)
	}
	if ap, ok := c.(*redis.AutoPipeliner); ok {
		if cc, ok := clientOf(ap).(redis.UniversalClient); ok {
			c = cc // its calls are its client's
		}
	}
	key, ok := clientKey(c)
	if !ok {
		return fmt.Errorf("redislua: Observe: %T is not a *redis.Client, *redis.ClusterClient or *redis.Ring", c)
	}
	obs := observationOf(c, key)
	if isNilClient(o) { // a nil *T would panic in StartCall
		obs.o.Store(nil)
	} else {
		obs.o.Store(&o)
	}
	return nil
}

// observationOf returns c's observation, made, hooked and registered on
// first use.
func observationOf(c redis.UniversalClient, key uintptr) *observation {
	for {
		fresh := &observation{client: weakClient(c)}
		v, loaded := observers.LoadOrStore(key, fresh)
		obs := v.(*observation)
		if loaded && obs.client() != any(c) {
			// A collected client's entry, at the address c reuses,
			// whose cleanup has not run yet.
			observers.CompareAndDelete(key, obs)
			continue
		}
		if !loaded {
			observedClients.Add(1)
			c.AddHook(observerHook{obs: obs, addr: clientAddr(c)})
			switch c := c.(type) {
			case *redis.Client:
				forgetWhenCollected(c, key, obs)
			case *redis.ClusterClient:
				forgetWhenCollected(c, key, obs)
			case *redis.Ring:
				forgetWhenCollected(c, key, obs)
			}
		}
		return obs
	}
}

// forgetWhenCollected removes c's observation once c is garbage
// collected.
func forgetWhenCollected[T any](c *T, key uintptr, obs *observation) {
	runtime.AddCleanup(c, func(k uintptr) {
		observers.CompareAndDelete(k, obs)
		observedClients.Add(-1)
	}, key)
}

// weakClient returns a function that returns c while it lives, without
// keeping it alive.
func weakClient(c any) func() any {
	switch c := c.(type) {
	case *redis.Client:
		w := weak.Make(c)
		return func() any { return w.Value() }
	case *redis.ClusterClient:
		w := weak.Make(c)
		return func() any { return w.Value() }
	case *redis.Ring:
		w := weak.Make(c)
		return func() any { return w.Value() }
	}
	return func() any { return nil }
}

// clientKey is c's key in observers: its address.
func clientKey(c any) (uintptr, bool) {
	switch c := c.(type) {
	case *redis.Client:
		return uintptr(unsafe.Pointer(c)), true
	case *redis.ClusterClient:
		return uintptr(unsafe.Pointer(c)), true
	case *redis.Ring:
		return uintptr(unsafe.Pointer(c)), true
	}
	return 0, false
}

// observerOf returns the observer of c, or nil.
func observerOf(c any) Observer {
	if observedClients.Load() == 0 {
		return nil
	}
	if ap, ok := c.(*redis.AutoPipeliner); ok {
		c = clientOf(ap)
	}
	key, ok := clientKey(c)
	if !ok || key == 0 {
		return nil
	}
	v, ok := observers.Load(key)
	if !ok {
		return nil
	}
	obs := v.(*observation)
	o := obs.o.Load()
	if o == nil || obs.client() != c {
		return nil
	}
	return *o
}

// clientAddr is the address a call on c goes to, when c has one.
func clientAddr(c any) string {
	if ap, ok := c.(*redis.AutoPipeliner); ok {
		c = clientOf(ap)
	}
	if c, ok := c.(*redis.Client); ok {
		return c.Options().Addr
	}
	return ""
}

// Notify tells the observer of c (see Observe), if any, about ev. The
// packages built on scripts use it to report what their scripts' calls do
// not say; a package of your own can too. Without an observer it costs one
// atomic load.
func Notify(ctx context.Context, c redis.Scripter, ev Event) {
	if o := observerOf(c); o != nil {
		o.Notify(ctx, ev)
	}
}

// observerHook sees the pipelines and transactions of an observed client:
// those with script or Function calls are one Call each.
type observerHook struct {
	obs  *observation
	addr string
}

func (h observerHook) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h observerHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h observerHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		p := h.obs.o.Load()
		if p == nil {
			return next(ctx, cmds)
		}
		var names []string
		n := 0 // the caller's commands
		for _, cmd := range cmds {
			// A command with a call is part of one observed already
			// (RunAndWait's pipeline).
			if oc, ok := cmd.(*onceCmd); ok && oc.call == nil {
				names = append(names, oc.callName())
			}
			if !isLoad(cmd) {
				n++
			}
		}
		if names == nil {
			return next(ctx, cmds)
		}
		command := "PIPELINE"
		if isTx(cmds) {
			command, n = "MULTI", n-2
		}
		o := *p
		call := newCall(Call{Command: command, Addr: h.addr, Keys: n, Start: time.Now(), Scripts: names})
		ctx = startCall(ctx, o, call)
		err := next(ctx, cmds)
		endCall(ctx, o, call, pipelineError(cmds, err))
		return err
	}
}

// pipelineError is the error that Exec returns to the caller of a
// pipeline of cmds that go-redis ran with error err, as OptimizePipelines
// makes it (see execError), whether its hook runs outside this one, and
// has not mapped the errors yet, or inside it, where cmds hold its SCRIPT
// LOADs: the first of the caller's commands that failed, with a script's
// error mapped and a NOSCRIPT after a failed SCRIPT LOAD of its script
// replaced by the load's error; else err, unless only a SCRIPT LOAD failed.
func pipelineError(cmds []redis.Cmder, err error) error {
	if err == nil {
		return nil
	}
	if isTx(cmds) {
		cmds = cmds[1 : len(cmds)-1]
	}
	loadFailed := false
	for _, cmd := range cmds {
		cerr := cmd.Err()
		if cerr == nil {
			continue
		}
		if isLoad(cmd) {
			loadFailed = true
			continue
		}
		s := scriptOf(cmd.Args())
		if s == nil {
			return cerr
		}
		if isNoScript(cerr) {
			for _, l := range cmds {
				if isLoad(l) && l.Err() != nil && l.Args()[2].(*scriptBody).script == s {
					cerr = l.Err()
					break
				}
			}
		}
		return s.mapError(cerr)
	}
	if loadFailed {
		return nil
	}
	return err
}
