package redisluaotel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
)

// errorTypes are the error.type values of the library's typed errors, most
// specific first.
var errorTypes = []struct {
	err  error
	name string
}{
	{redislua.ErrBusy, "BUSY"},
	{redislua.ErrOOM, "OOM"},
	{redislua.ErrNoPerm, "NOPERM"},
	{redislua.ErrCrossSlot, "CROSSSLOT"},
	{redislua.ErrNoScript, "NOSCRIPT"},
	{redislua.ErrWrongType, "WRONGTYPE"},
	{redislua.ErrReadOnly, "READONLY"},
	{redislua.ErrSyntax, "syntax_error"},
	{redislua.ErrTooFewReplicas, "too_few_replicas"},
	{redislua.ErrFunctionsUnsupported, "functions_unsupported"},
	{redislua.ErrKeyCount, "invalid_call"},
	{redislua.ErrArgCount, "invalid_call"},
	{redislua.ErrEmptyKey, "invalid_call"},
	{redislua.ErrNilClient, "invalid_call"},
	{context.DeadlineExceeded, "timeout"},
	{context.Canceled, "canceled"},
}

// errorType classifies err for error.type: the typed error it matches, a
// script error (script_error), a Redis error by its prefix (ERR, LOADING,
// MOVED, ...), a network error (network), else _OTHER. It is "" for nil
// and redis.Nil, a nil reply, which is a result.
func errorType(err error) string {
	if err == nil || err == redis.Nil {
		return ""
	}
	for _, t := range errorTypes {
		if errors.Is(err, t.err) {
			return t.name
		}
	}
	var se *redislua.ScriptError
	if errors.As(err, &se) {
		return "script_error"
	}
	if code := statusCode(err); code != "" {
		return code
	}
	var nerr net.Error
	if errors.As(err, &nerr) {
		if nerr.Timeout() {
			return "timeout"
		}
		return "network"
	}
	return "_OTHER"
}

// statusCode is the prefix of the Redis error reply err carries (ERR,
// BUSY, NOSCRIPT...), for db.response.status_code; "" if none.
func statusCode(err error) string {
	var rerr redis.Error
	if err == nil || err == redis.Nil || !errors.As(err, &rerr) {
		return ""
	}
	msg := rerr.Error()
	code, _, _ := strings.Cut(msg, " ")
	if code == "" || code != strings.ToUpper(code) || len(code) > 32 {
		return ""
	}
	return code
}

// statusDescription is the span status's description of err: its text,
// except for a *redislua.CrossSlotError, whose text names the call's keys,
// which spans never hold; its slots say as much.
func statusDescription(err error) string {
	var cs *redislua.CrossSlotError
	if errors.As(err, &cs) {
		return fmt.Sprintf("redislua: script %s: keys in different cluster slots %v", cs.Script, cs.Slots)
	}
	return err.Error()
}
