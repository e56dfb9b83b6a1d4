package lock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/prebuilt"
)

// A hub is the pub/sub connection on which waiting Acquire calls hear
// releases. The waiters of one *redis.Client or *redis.ClusterClient share
// one hub, opened by the first and closed when the last leaves: one
// connection however many wait, subscribed to the channels that have
// waiters. On a cluster, one connection to any node is enough: Redis 7
// broadcasts a (non-sharded) PUBLISH to every node over the cluster bus.
//
// Any other Client gets a hub per waiter: a *redis.Ring subscribes on
// the shard of the first channel it is given, so a connection shared by
// several channels would listen on the wrong shard for the others, and a
// custom client need not be comparable, which a map key must be.
//
// A hub's goroutine does its I/O: it sends SUBSCRIBE and UNSUBSCRIBE in
// the order waiters asked for them, and routes what the connection
// receives to the waiters of each channel. Waiters never wait for it, so
// a slow or black-holed connection only leaves them polling, and a
// cancelled Acquire returns at once.
type hub struct {
	// open returns a PubSub subscribed to channel, the hub's first.
	open func(ctx context.Context, channel string) (*redis.PubSub, error)
	// client is the hub's key in hubs; nil for a hub of one waiter.
	client Client
	// beforeRoute, when set (by tests, before the first join), is called
	// by the hub's goroutine with each item received, before routing it.
	beforeRoute func(item any)

	mu       sync.Mutex
	channels map[string]*hubChannel
	waiters  int           // on all channels
	ops      []hubOp       // to send, in order
	running  bool          // the goroutine was started
	done     bool          // no waiter left, or the connection failed
	kick     chan struct{} // (1) ops were added, or done was set
}

// hubChannel is the state of one channel of a hub.
//
// A waiter that joins a channel nobody listens on sends a SUBSCRIBE, and
// the last one to leave sends an UNSUBSCRIBE (the hub's last waiter closes
// the connection instead). The server confirms each command, in the order
// they were sent, so counting both commands and confirmations tells which
// command a confirmation belongs to. A waiter counts as subscribed only
// once the SUBSCRIBE it depends on is confirmed: a confirmation still due
// to an earlier waiter, who left before it came, is not its own.
type hubChannel struct {
	waiters map[*waiter]struct{}
	// sent counts the SUBSCRIBE and UNSUBSCRIBE commands sent on the
	// channel, confirmed their confirmations; subscribe is the value of
	// sent after the last SUBSCRIBE.
	sent, confirmed, subscribe uint64
}

// hubOp is a command a hub's goroutine is to send.
type hubOp struct {
	subscribe bool // SUBSCRIBE, else UNSUBSCRIBE
	channel   string
}

// waiter is one waiting Acquire call's place in a hub.
type waiter struct {
	hub     *hub
	channel string
	// need is the count of confirmations on the channel after which this
	// waiter is subscribed: that of the SUBSCRIBE it depends on.
	need       uint64
	subscribed bool          // guarded by hub.mu
	wake       chan struct{} // (1) a confirmation of its subscription, or a release
}

// hubIOTimeout bounds each command a hub's goroutine sends (and the dial
// before the first), on top of the client's DialTimeout and WriteTimeout.
const hubIOTimeout = 10 * time.Second

// hubs holds the open hub of each *redis.Client and *redis.ClusterClient
// that has waiters, and only while it has: a client nobody waits on is not
// kept alive. Its mutex is taken before a hub's.
var hubs = struct {
	sync.Mutex
	m map[Client]*hub
}{m: map[Client]*hub{}}

// joinHub joins c's hub (a new one for a client of another type) as a
// waiter on channel. The waiter is woken when it is subscribed (at once if
// it already is), and by each message on channel. Call leave when done.
func joinHub(c Client, channel string) *waiter {
	switch c.(type) {
	case *redis.Client, *redis.ClusterClient:
	default:
		return newHub(openOne(c)).join(channel)
	}
	hubs.Lock()
	defer hubs.Unlock()
	h := hubs.m[c]
	if h == nil {
		h = newHub(openShared(c))
		h.client = c
		hubs.m[c] = h
	}
	return h.join(channel)
}

// openShared returns the open function of a hub on c, whose PubSub may
// add any channel to its first.
func openShared(c Client) func(ctx context.Context, channel string) (*redis.PubSub, error) {
	return func(ctx context.Context, channel string) (*redis.PubSub, error) {
		ps := c.Subscribe(ctx) // no I/O until the first channel
		if err := ps.Subscribe(ctx, channel); err != nil {
			_ = ps.Close()
			return nil, err
		}
		return ps, nil
	}
}

// openOne returns the open function of a hub of one waiter on c. Errors
// go unseen (c.Subscribe drops them): the waiter then polls.
func openOne(c Client) func(ctx context.Context, channel string) (*redis.PubSub, error) {
	return func(ctx context.Context, channel string) (*redis.PubSub, error) {
		return subscribe(ctx, c, channel)
	}
}

// newHub returns a hub whose connection open opens, with no waiters; it
// starts its goroutine on the first join.
func newHub(open func(ctx context.Context, channel string) (*redis.PubSub, error)) *hub {
	return &hub{open: open, channels: map[string]*hubChannel{}, kick: make(chan struct{}, 1)}
}

// join adds a waiter on channel, subscribing to it unless it has waiters
// already. The hub must not be done.
func (h *hub) join(channel string) *waiter {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := h.channels[channel]
	if ch == nil {
		ch = &hubChannel{waiters: map[*waiter]struct{}{}}
		h.channels[channel] = ch
	}
	if len(ch.waiters) == 0 {
		ch.sent++
		ch.subscribe = ch.sent
		h.send(hubOp{subscribe: true, channel: channel})
	}
	// With waiters already, no UNSUBSCRIBE followed the last SUBSCRIBE:
	// its confirmation, or the one to come, subscribes this waiter too.
	w := &waiter{hub: h, channel: channel, need: ch.subscribe, wake: make(chan struct{}, 1)}
	ch.waiters[w] = struct{}{}
	h.waiters++
	if ch.confirmed >= w.need {
		w.subscribed = true
		w.notify()
	}
	if !h.running {
		h.running = true
		go h.run()
	}
	return w
}

// leave removes w from its hub, unsubscribing from its channel if it was
// the channel's last waiter, and closing the hub if it was the hub's last.
func (w *waiter) leave() {
	h := w.hub
	if h.client != nil {
		hubs.Lock()
		defer hubs.Unlock()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := h.channels[w.channel]
	delete(ch.waiters, w)
	h.waiters--
	switch {
	case h.waiters == 0:
		h.retire() // closing the connection unsubscribes from everything
	case len(ch.waiters) == 0 && !h.done:
		ch.sent++
		h.send(hubOp{subscribe: false, channel: w.channel})
	}
}

// retire takes h out of hubs, so that the next waiter opens a new hub, and
// has its goroutine close the connection. Its waiters stay, and poll.
// Call it with hubs (for a hub in it) and h.mu held.
func (h *hub) retire() {
	if h.client != nil && hubs.m[h.client] == h {
		delete(hubs.m, h.client)
	}
	h.done = true
	h.poke()
}

// send queues op for the hub's goroutine. Call it with h.mu held.
func (h *hub) send(op hubOp) {
	h.ops = append(h.ops, op)
	h.poke()
}

func (h *hub) poke() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

func (w *waiter) notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run is the hub's goroutine: it sends the queued commands, one at a time
// and in order, and routes what the connection receives, until the hub is
// done or a command fails. Then it closes the connection. It holds no
// lock while it sends: a slow write (bounded by the client's DialTimeout,
// WriteTimeout and hubIOTimeout) delays only the routing of what comes
// next, and waiters poll meanwhile.
func (h *hub) run() {
	var (
		ps    *redis.PubSub
		items <-chan any // nil, blocking, until ps is open
	)
	defer func() {
		if ps != nil {
			_ = ps.Close()
			for range items { // closed by go-redis's reader on its way out
			}
		}
	}()
	for {
		select {
		case <-h.kick:
			ops, done := h.take()
			if done {
				return
			}
			for _, op := range ops {
				ctx, cancel := context.WithTimeout(context.Background(), hubIOTimeout)
				var err error
				switch {
				case ps == nil:
					// The hub's first op: a SUBSCRIBE, which all others follow.
					ps, err = h.open(ctx, op.channel)
					if err == nil {
						items = ps.ChannelWithSubscriptions()
					}
				case op.subscribe:
					err = ps.Subscribe(ctx, op.channel)
				default:
					err = ps.Unsubscribe(ctx, op.channel)
				}
				cancel()
				if err != nil {
					// The counts may be off from now on (go-redis may have
					// reconnected, resubscribing, or not): start afresh.
					h.fail()
					return
				}
			}
		case item, ok := <-items:
			if !ok {
				h.fail()
				return
			}
			if h.beforeRoute != nil {
				h.beforeRoute(item)
			}
			h.route(item)
		}
	}
}

// take returns the queued commands, or true when the hub is done.
func (h *hub) take() ([]hubOp, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return nil, true
	}
	ops := h.ops
	h.ops = nil
	return ops, false
}

// fail retires h after its connection failed.
func (h *hub) fail() {
	if h.client != nil {
		hubs.Lock()
		defer hubs.Unlock()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.retire()
}

// route wakes the waiters a message or a confirmation is for.
//
// go-redis reconnects a broken connection by itself and subscribes the new
// one to its channels: the confirmations of commands sent on the old one
// may never come, and the new one's come unasked. Neither may block or
// crash a waiter. A missing one leaves its waiter unsubscribed, to poll
// with its RetryStrategy. An extra one is counted only up to the commands
// sent, so that a confirmation cannot run ahead of them; it can still be
// taken for that of a command sent after the reconnection, and then a
// waiter attempts before its SUBSCRIBE took effect and may miss a release
// that comes in between: it polls for that one too.
func (h *hub) route(item any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch m := item.(type) {
	case *redis.Message:
		if ch := h.channels[m.Channel]; ch != nil {
			for w := range ch.waiters {
				w.notify()
			}
		}
	case *redis.Subscription:
		if m.Kind != "subscribe" && m.Kind != "unsubscribe" {
			return
		}
		ch := h.channels[m.Channel]
		if ch == nil {
			return
		}
		if ch.confirmed < ch.sent {
			ch.confirmed++
		}
		for w := range ch.waiters {
			if !w.subscribed && ch.confirmed >= w.need {
				w.subscribed = true
				w.notify()
			}
		}
		if len(ch.waiters) == 0 && ch.confirmed == ch.sent {
			delete(h.channels, m.Channel) // nothing more to come
		}
	}
}

// wait returns when w is woken, after d, or with ctx's error when ctx
// ends first.
func (w *waiter) wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.wake:
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// subscribe calls c.Subscribe, turning a panic into an error: *redis.Ring
// panics when it has no shard to subscribe on.
func subscribe(ctx context.Context, c Client, channel string) (ps *redis.PubSub, err error) {
	defer func() {
		if r := recover(); r != nil {
			ps, err = nil, fmt.Errorf("lock: subscribing to %s: %v", prebuilt.Quote(channel), r)
		}
	}()
	ps = c.Subscribe(ctx, channel)
	if ps == nil {
		return nil, errors.New("lock: Subscribe returned nil")
	}
	return ps, nil
}
