package redislua

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// ErrLibraryConflict means a server already has a function library of
// that name with other code; see *LibraryConflictError.
var ErrLibraryConflict = errors.New("redislua: the server has a different version of the function library")

// ErrFunctionsUnsupported means the server does not know Redis Functions
// (FUNCTION, FCALL): miniredis, or Redis before 7.0. Libraries need a real
// Redis 7 server; EVAL scripts run everywhere.
var ErrFunctionsUnsupported = errors.New("redislua: the server does not support Redis Functions (FUNCTION, FCALL need Redis 7 or later; miniredis has none)")

// LoadOptions configures Library.Load; a nil *LoadOptions means every
// default.
type LoadOptions struct {
	// Replace loads the library over a different version of it (FUNCTION
	// LOAD REPLACE) instead of returning a *LibraryConflictError. Choosing
	// which version wins is the caller's job: Replace during a rolling
	// deploy makes old and new callers take turns.
	Replace bool
}

// LibraryConflictError is a library that servers hold with other code
// than the registry's, found by Load without LoadOptions.Replace. Nothing
// was changed on those servers. errors.Is(err, ErrLibraryConflict) holds.
type LibraryConflictError struct {
	// Library is the library's name.
	Library string
	// Servers are the addresses of the servers whose code differs, sorted.
	Servers []string
}

// Error names the library and the servers.
func (e *LibraryConflictError) Error() string {
	return fmt.Sprintf("redislua: function library %s has other code on %s (load with LoadOptions.Replace to replace it)", e.Library, strings.Join(e.Servers, ", "))
}

// Is reports whether target is ErrLibraryConflict.
func (e *LibraryConflictError) Is(target error) bool { return target == ErrLibraryConflict }

// functionClient is what loading needs of a client: every go-redis client
// and node client has it.
type functionClient interface {
	FunctionList(ctx context.Context, q redis.FunctionListQuery) *redis.FunctionListCmd
	FunctionLoad(ctx context.Context, code string) *redis.StringCmd
	FunctionLoadReplace(ctx context.Context, code string) *redis.StringCmd
}

// Load makes the server hold the library, and is safe to run at every
// start-up: on each server it asks for the library (FUNCTION LIST
// LIBRARYNAME <name> WITHCODE); if absent it loads it (FUNCTION LOAD); if
// present with byte-identical code it does nothing more; if present with
// other code it returns a *LibraryConflictError naming every such server,
// unless opts.Replace (FUNCTION LOAD REPLACE). The servers are the master
// of a *redis.Client (standalone, or Sentinel's failover client), every
// master of a *redis.ClusterClient and every shard of a *redis.Ring;
// replicas get the library through replication. It needs answers, so it returns ErrPipeline inside a
// pipeline, and ErrFunctionsUnsupported on a server without Functions.
func (l *Library) Load(ctx context.Context, c redis.Scripter, opts *LoadOptions) error {
	replace := opts != nil && opts.Replace
	if isNilClient(c) {
		return fmt.Errorf("%w: loading function library %s", ErrNilClient, l.name)
	}
	c = clientOf(c)
	if _, ok := c.(redis.Pipeliner); ok {
		return fmt.Errorf("%w: loading function library %s", ErrPipeline, l.name)
	}
	conflict := &LibraryConflictError{Library: l.name}
	var mu sync.Mutex
	onNode := func(ctx context.Context, node functionClient, addr string) error {
		same, err := l.loadOn(ctx, node, replace)
		if err != nil {
			return err
		}
		if !same {
			mu.Lock()
			conflict.Servers = append(conflict.Servers, addr)
			mu.Unlock()
		}
		return nil
	}
	var err error
	switch c := c.(type) {
	case *redis.ClusterClient:
		err = eachMaster(ctx, c, func(ctx context.Context, node *redis.Client) error {
			return onNode(ctx, node, node.Options().Addr)
		})
	case *redis.Ring: // a call goes to its key's shard: every shard needs it
		err = c.ForEachShard(ctx, func(ctx context.Context, node *redis.Client) error {
			return onNode(ctx, node, node.Options().Addr)
		})
	case functionClient:
		err = onNode(ctx, c, serverAddr(c))
	default:
		return fmt.Errorf("redislua: loading function library %s: the client (%T) has no FunctionList/FunctionLoad methods", l.name, c)
	}
	if err != nil {
		return err
	}
	if len(conflict.Servers) > 0 {
		sort.Strings(conflict.Servers)
		return conflict
	}
	return nil
}

// loadOn loads the library on one server unless it has it. same is false
// when the server has other code and replace is not set.
func (l *Library) loadOn(ctx context.Context, node functionClient, replace bool) (same bool, err error) {
	code, found, err := l.codeOn(ctx, node)
	switch {
	case err != nil:
		return false, err
	case found && code == l.src.Text:
		return true, nil
	case found && !replace:
		return false, nil
	case found:
		return true, l.checkLoad(node.FunctionLoadReplace(ctx, l.src.Text).Err())
	}
	err = node.FunctionLoad(ctx, l.src.Text).Err()
	if err != nil && strings.HasPrefix(err.Error(), "ERR Library '"+l.name+"' already exists") {
		// Another client loaded it meanwhile: compare again.
		if code, found, err = l.codeOn(ctx, node); err == nil && found && code != l.src.Text {
			return false, nil
		}
	}
	return true, l.checkLoad(err)
}

// codeOn returns the library's code on one server, found false if it has
// none. LIBRARYNAME is a pattern: the reply is searched for the exact name.
func (l *Library) codeOn(ctx context.Context, node functionClient) (code string, found bool, err error) {
	libs, err := node.FunctionList(ctx, redis.FunctionListQuery{LibraryNamePattern: l.name, WithCode: true}).Result()
	if err != nil {
		return "", false, l.checkLoad(err)
	}
	for _, lib := range libs {
		if lib.Name == l.name {
			return lib.Code, true, nil
		}
	}
	return "", false, nil
}

// checkLoad names the library in an error of FUNCTION LIST or LOAD.
func (l *Library) checkLoad(err error) error {
	switch {
	case err == nil:
		return nil
	case isUnsupported(err):
		return fmt.Errorf("%w: loading function library %s: %w", ErrFunctionsUnsupported, l.name, err)
	}
	return fmt.Errorf("redislua: loading function library %s (%s): %w", l.name, l.file, err)
}

// reload loads the library where a call found it missing: the server of c,
// or on a *redis.ClusterClient the master of the first key (every master
// for a call without keys). Unlike Load, it does not replace other code.
func (l *Library) reload(ctx context.Context, c redis.Scripter, keys []string) error {
	cc, ok := clientOf(c).(*redis.ClusterClient)
	if !ok || len(keys) == 0 {
		return l.Load(ctx, c, nil)
	}
	node, err := cc.MasterForKey(ctx, keys[0])
	if err != nil {
		return err
	}
	same, err := l.loadOn(ctx, node, false)
	if err == nil && !same {
		return &LibraryConflictError{Library: l.name, Servers: []string{node.Options().Addr}}
	}
	return err
}

// eachMaster runs fn on every master of cc, hooking each node as eachNode
// does, and joins the errors, each naming its node.
func eachMaster(ctx context.Context, cc *redis.ClusterClient, fn func(ctx context.Context, node *redis.Client) error) error {
	var (
		mu   sync.Mutex
		errs []error
	)
	g := guardOf(cc)
	err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		g.hookNode(node)
		if err := fn(ctx, node); err != nil {
			mu.Lock()
			errs = append(errs, fmt.Errorf("node %s: %w", node.Options().Addr, err))
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// serverAddr names the server of a client, for a conflict error.
func serverAddr(c any) string {
	if o, ok := c.(interface{ Options() *redis.Options }); ok {
		return o.Options().Addr
	}
	return fmt.Sprintf("%T", c)
}
