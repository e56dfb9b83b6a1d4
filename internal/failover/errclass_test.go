package failover

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
)

// failoverErrorClass names the kind of an error a caller may see while a
// master fails over, "NOSCRIPT" for the one it must never see, and "" for
// an error that has no business there.
func failoverErrorClass(err error) string {
	msg := err.Error()
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.Is(err, redislua.ErrNoScript) || strings.Contains(msg, "NOSCRIPT"):
		return "NOSCRIPT"
	case errors.Is(err, errNotAcquired):
		return "lock not acquired (held, or the wait timed out)"
	case errors.Is(err, errNotHeld):
		return "lock not held (expired or lost)"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "deadline exceeded"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, redis.ErrClosed):
		return "connection closed (redis.ErrClosed)"
	case errors.Is(err, redis.ErrPoolTimeout):
		return "pool timeout"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "network timeout"
	case errors.As(err, &opErr):
		return "network error"
	}
	for _, prefix := range []string{"READONLY", "LOADING", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "MOVED", "ASK"} {
		// Anywhere in the text: the library wraps server errors.
		if strings.HasPrefix(msg, prefix+" ") || strings.Contains(msg, ": "+prefix+" ") {
			return prefix
		}
	}
	if strings.Contains(msg, "all sentinels specified in configuration are unreachable") {
		return "sentinels unreachable"
	}
	return ""
}

// errTally counts the errors seen during a failover by class, keeping an
// example of each class and every error of no known class.
type errTally struct {
	mu         sync.Mutex
	byClass    map[string]int
	example    map[string]string
	unexpected []string
}

func (e *errTally) add(err error) {
	class := failoverErrorClass(err)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.byClass == nil {
		e.byClass, e.example = make(map[string]int), make(map[string]string)
	}
	if class == "" {
		if len(e.unexpected) < 20 {
			e.unexpected = append(e.unexpected, fmt.Sprintf("%T: %v", err, err))
		}
		class = "unexpected"
	}
	e.byClass[class]++
	if _, ok := e.example[class]; !ok {
		e.example[class] = err.Error()
	}
}

// check fails t on NOSCRIPT or an error of no known class, and logs the
// count of each class with an example.
func (e *errTally) check(t *testing.T) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	classes := make([]string, 0, len(e.byClass))
	for class := range e.byClass {
		classes = append(classes, class)
	}
	slices.Sort(classes)
	var b strings.Builder
	for _, class := range classes {
		fmt.Fprintf(&b, "\n  %5d %s, e.g. %.160s", e.byClass[class], class, e.example[class])
	}
	t.Logf("errors during the failover:%s", b.String())
	if n := e.byClass["NOSCRIPT"]; n > 0 {
		t.Errorf("%d calls surfaced NOSCRIPT, e.g. %s", n, e.example["NOSCRIPT"])
	}
	if len(e.unexpected) > 0 {
		t.Errorf("errors of no failover kind:\n  %s", strings.Join(e.unexpected, "\n  "))
	}
}
