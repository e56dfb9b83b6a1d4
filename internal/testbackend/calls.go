package testbackend

import (
	"errors"
	"fmt"
	"testing"
)

// ExpectError runs each call and fails t unless it returns an error
// matching want, without panicking. what names the calls in messages (the
// client's type, say).
func ExpectError(t *testing.T, what string, want error, calls map[string]func() error) {
	t.Helper()
	for name, call := range calls {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s(%s): panic %v, want %v", name, what, p, want)
				}
			}()
			if err := call(); !errors.Is(err, want) {
				t.Errorf("%s(%s) = %v, want %v", name, what, err, want)
			}
		}()
	}
}

// ExpectRefusedBeforeSending runs each call and fails t unless it returns
// an error matching want and b's client sent nothing for it.
func ExpectRefusedBeforeSending(t *testing.T, b Backend, want error, calls map[string]func() error) {
	t.Helper()
	b.Sent.Take()
	for name, call := range calls {
		if err := call(); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
		if sent := b.Sent.Take(); len(sent) != 0 {
			t.Errorf("%s: sent %v, want nothing", name, sent)
		}
	}
}

// TypeName is "%T" of v, for ExpectError's what.
func TypeName(v any) string { return fmt.Sprintf("%T", v) }
