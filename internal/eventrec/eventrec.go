// Package eventrec is a redislua.Observer for tests of the packages that
// report events: it keeps the events it hears and ignores calls.
package eventrec

import (
	"context"
	"sync"

	"github.com/redislua/redislua"
)

// Recorder keeps the events reported to it, in order. It is safe for
// concurrent use.
type Recorder struct {
	mu   sync.Mutex
	list []redislua.Event
}

// StartCall ignores the call.
func (r *Recorder) StartCall(ctx context.Context, _ *redislua.Call) context.Context { return ctx }

// EndCall ignores the call.
func (r *Recorder) EndCall(context.Context, *redislua.Call, error) {}

// Notify keeps ev.
func (r *Recorder) Notify(_ context.Context, ev redislua.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, ev)
}

// Take returns the events kept so far and forgets them.
func (r *Recorder) Take() []redislua.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.list
	r.list = nil
	return l
}
