package redislua

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

var (
	// ErrNotBusy means KillScript found no script or function running.
	ErrNotBusy = errors.New("redislua: no script running (NOTBUSY)")
	// ErrUnkillable means the running script already wrote, so Redis
	// refuses to kill it: only its end, or SHUTDOWN NOSAVE, stops it.
	ErrUnkillable = errors.New("redislua: running script already wrote and cannot be killed (UNKILLABLE)")
)

// KillScript stops the script (or function) that keeps a server busy, so
// that callers stop getting ErrBusy. It sends SCRIPT KILL and, when what
// runs is a function, FUNCTION KILL. On a *redis.ClusterClient it asks
// every master. It returns nil when a script was killed, ErrNotBusy when
// none ran, and an error wrapping ErrUnkillable when the script already
// wrote: Redis then refuses to stop it, to keep its writes atomic.
//
// The library never calls it on its own, and never retries into a busy
// server: a caller that gets ErrBusy decides whether to wait or to kill.
func KillScript(ctx context.Context, c redis.UniversalClient) error {
	if isNilClient(c) {
		return fmt.Errorf("%w: KillScript", ErrNilClient)
	}
	if u, ok := clientOf(c).(redis.UniversalClient); ok {
		c = u // not queued behind the busy script on an AutoPipeliner
	}
	cc, ok := c.(*redis.ClusterClient)
	if !ok {
		return killOn(ctx, c)
	}
	var (
		mu      sync.Mutex
		killed  bool
		errs    []error
		notBusy int
		masters int
	)
	err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		err := killOn(ctx, node)
		mu.Lock()
		defer mu.Unlock()
		masters++
		switch {
		case err == nil:
			killed = true
		case errors.Is(err, ErrNotBusy):
			notBusy++
		default:
			errs = append(errs, fmt.Errorf("node %s: %w", node.Options().Addr, err))
		}
		return nil
	})
	switch {
	case err != nil:
		return err
	case len(errs) > 0:
		return errors.Join(errs...)
	case killed:
		return nil
	}
	return ErrNotBusy
}

// killOn kills the script or function running on one server.
func killOn(ctx context.Context, c redis.Cmdable) error {
	err := c.ScriptKill(ctx).Err()
	if err != nil && strings.Contains(err.Error(), "FUNCTION KILL") {
		err = c.FunctionKill(ctx).Err() // what runs is a function
	}
	return killError(err)
}

// killError maps the replies of SCRIPT KILL and FUNCTION KILL.
func killError(err error) error {
	switch {
	case err == nil:
		return nil
	case strings.HasPrefix(err.Error(), "NOTBUSY"):
		return ErrNotBusy
	case strings.HasPrefix(err.Error(), "UNKILLABLE"):
		return fmt.Errorf("%w: %w", ErrUnkillable, err)
	}
	return fmt.Errorf("redislua: killing the running script: %w", err)
}
