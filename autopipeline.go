package redislua

import (
	"context"
	"reflect"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// go-redis's *redis.AutoPipeliner (experimental) queues the commands of
// many goroutines and sends them as pipelines on the client it was made
// from, through that client's pipeline hooks. A call through one is a call
// through that client, batched: the library checks slots and hooks a
// cluster's nodes for the client, loads scripts and libraries on its
// nodes, waits for replicas on it (RunAndWait) and tells its observer. Run
// and Function.Call send through the AutoPipeliner; their fallbacks too.

// autoPipelinerClient is the index of the AutoPipeliner's field that
// holds its client. go-redis exports no accessor for it, so clientOf reads
// it by reflection; a test pins the field, so a go-redis release that
// renames it fails the tests rather than the callers.
var autoPipelinerClient = func() []int {
	f, ok := reflect.TypeFor[redis.AutoPipeliner]().FieldByName("pipeliner")
	if !ok || f.Type.Kind() != reflect.Interface {
		return nil
	}
	return f.Index
}()

// clientOf returns the client that c sends through: for an
// *redis.AutoPipeliner, the *redis.Client or *redis.ClusterClient it was
// made from; c itself for anything else, and for an AutoPipeliner whose
// client cannot be found (then treated as a client of one server).
func clientOf(c redis.Scripter) redis.Scripter {
	ap, ok := c.(*redis.AutoPipeliner)
	if !ok || ap == nil || autoPipelinerClient == nil {
		return c
	}
	if last := lastAutoPipeliner.Load(); last != nil && last.ap == ap {
		return last.client
	}
	client := clientByReflection(ap)
	lastAutoPipeliner.Store(&autoPipelinerOf{ap: ap, client: client})
	return client
}

// autoPipelinerOf is an AutoPipeliner and the client clientOf found for
// it.
type autoPipelinerOf struct {
	ap     *redis.AutoPipeliner
	client redis.Scripter
}

// lastAutoPipeliner caches clientOf's last answer: a program has one or a
// few AutoPipeliners, and every call through one asks, where the
// reflection costs about 1% of a call at 256 goroutines. The cache holds
// its AutoPipeliner, so that no other can take its address while cached.
var lastAutoPipeliner atomic.Pointer[autoPipelinerOf]

// clientByReflection is clientOf without the cache.
func clientByReflection(ap *redis.AutoPipeliner) redis.Scripter {
	var c redis.Scripter = ap
	v := reflect.ValueOf(ap).Elem().FieldByIndex(autoPipelinerClient)
	if v.IsNil() {
		return c
	}
	v = v.Elem()
	// Pointer, not Interface: the field is unexported.
	switch v.Type() {
	case reflect.TypeFor[*redis.Client]():
		if p := (*redis.Client)(v.UnsafePointer()); p != nil {
			return p
		}
	case reflect.TypeFor[*redis.ClusterClient]():
		if p := (*redis.ClusterClient)(v.UnsafePointer()); p != nil {
			return p
		}
	}
	return c
}

// sendAuto sends cmd through ap as processAuto does, with a Call of its
// own in place of the observed call while it is out: a caller whose
// context ends returns and its call goes back to the pool, while a node
// hook may still write the node's address into the command's Call.
func sendAuto(ctx context.Context, ap *redis.AutoPipeliner, cmd *onceCmd) (ok bool, err error) {
	call := cmd.call
	if call != nil {
		cmd.call = &Call{}
	}
	ok, err = processAuto(ctx, ap, cmd)
	if ok && call != nil {
		if cmd.call.Addr != "" {
			call.Addr = cmd.call.Addr
		}
		cmd.call = call
	}
	return ok, err
}

// processAuto sends cmd through ap and returns once it has its reply, or
// once ctx ends. go-redis runs a queued command with the AutoPipeliner's
// own context, so ctx is checked here: nothing is sent once it has ended,
// and a caller whose context ends while the command waits gets, in
// ok's place, false and the context's error; the command may still run
// (its outcome is unknown, as after a timeout on a client), and its reply
// then goes nowhere.
func processAuto(ctx context.Context, ap *redis.AutoPipeliner, cmd redis.Cmder) (ok bool, err error) {
	if err := contextError(ctx); err != nil {
		return false, err
	}
	done := ctx.Done()
	if !ap.IsBlocking() {
		f := ap.Submit(ctx, cmd)
		if done == nil {
			_ = f.Wait()
			return true, nil
		}
		if err := f.WaitContext(ctx); err != nil && contextError(ctx) != nil {
			return false, contextError(ctx)
		}
		return true, nil
	}
	if done == nil {
		_ = ap.Process(ctx, cmd)
		return true, nil
	}
	// The blocking face waits in Process: wait beside it.
	sent := make(chan struct{})
	go func() {
		_ = ap.Process(ctx, cmd)
		close(sent)
	}()
	select {
	case <-sent:
		return true, nil
	case <-done:
		select {
		case <-sent: // both: the reply is there
			return true, nil
		default:
			return false, contextError(ctx)
		}
	}
}
