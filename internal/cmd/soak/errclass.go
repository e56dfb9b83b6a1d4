package main

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
)

// class is the kind of an error, as the report counts them.
type class int

const (
	// classConnection: the server could not be reached or dropped the
	// connection (refused, reset, EOF, a socket timeout), or was not
	// serving yet (LOADING after a restart, CLUSTERDOWN, TRYAGAIN).
	classConnection class = iota
	// classBusy: BUSY, another script runs past the limit.
	classBusy
	// classOOM: OOM, maxmemory reached.
	classOOM
	// classNoScript: NOSCRIPT reached the caller. Run recovers from it by
	// itself, so outside plain pipelines it must never be seen.
	classNoScript
	// classContext: the call's context ended first.
	classContext
	// classOther: anything else.
	classOther
	numClasses
)

var classNames = [numClasses]string{"connection", "busy", "oom", "noscript", "context", "other"}

func (c class) String() string { return classNames[c] }

// availabilityPrefixes are error replies of a server that is up but not
// serving the key yet; go-redis passes them on when it does not retry.
var availabilityPrefixes = []string{"LOADING", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN"}

// classify returns err's class; err must not be nil.
func classify(err error) class {
	reply := replyText(err)
	switch {
	case errors.Is(err, redislua.ErrNoScript) || strings.HasPrefix(reply, "NOSCRIPT"):
		return classNoScript
	case errors.Is(err, redislua.ErrBusy) || strings.HasPrefix(reply, "BUSY"):
		return classBusy
	case errors.Is(err, redislua.ErrOOM) || strings.HasPrefix(reply, "OOM"):
		return classOOM
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return classContext
	case isConnectionError(err, reply):
		return classConnection
	}
	return classOther
}

// replyText returns the text of the server's error reply that err wraps,
// "" when it wraps none.
func replyText(err error) string {
	var rerr redis.Error
	if errors.As(err, &rerr) {
		return rerr.Error()
	}
	return ""
}

func isConnectionError(err error, reply string) bool {
	var netErr net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed),
		errors.Is(err, redis.ErrClosed), errors.As(err, &netErr):
		return true
	}
	for _, p := range availabilityPrefixes {
		if strings.HasPrefix(reply, p) {
			return true
		}
	}
	// go-redis's pool timeout and some dial errors carry no typed error.
	msg := err.Error()
	return strings.Contains(msg, "connection pool timeout") ||
		strings.Contains(msg, "connection refused") ||
		strings.Contains(msg, "connection reset")
}

// retryable reports whether a call that failed with err may be sent again
// as it is: the server was unreachable, the outcome is unknown, or (BUSY)
// the script was refused without running. Whether sending it again is
// safe is the caller's business: only idempotent calls are retried.
func retryable(err error) bool {
	switch classify(err) {
	case classConnection, classContext, classBusy:
		return true
	}
	return false
}
