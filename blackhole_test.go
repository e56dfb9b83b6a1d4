package redislua

import (
	"sync/atomic"
	"testing"

	"github.com/redislua/redislua/internal/redistest"
)

// blackHole is a TCP proxy in front of a server that can stop forwarding:
// once Swallow is called, whatever either side sends is read and dropped,
// so a client's commands get no reply, as over a network that silently
// lost its route. Connections stay open, so only a timeout ends a call.
type blackHole struct {
	*redistest.Proxy
	swallow atomic.Bool
}

// newBlackHole starts a proxy to target on a free loopback port and stops
// it, closing every connection, in t.Cleanup.
func newBlackHole(t *testing.T, target string) *blackHole {
	t.Helper()
	p := &blackHole{}
	pass := func([]byte) bool { return !p.swallow.Load() }
	p.Proxy = redistest.StartProxy(t, target, func() (toServer, toClient redistest.Filter) { return pass, pass })
	return p
}

// Swallow stops forwarding in both directions, on open and new
// connections alike.
func (p *blackHole) Swallow() { p.swallow.Store(true) }
