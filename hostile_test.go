package redislua

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf8"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/redislua/redislua/internal/testbackend"
)

func TestHostileRegistryInput(t *testing.T) {
	huge := strings.Repeat("-- padding\n", MaxScriptSize/10)
	tests := []struct {
		name string
		fsys fstest.MapFS
		want error
	}{
		{"huge file", fstest.MapFS{"lua/big.lua": {Data: []byte(huge)}}, ErrScriptTooLarge},
		{"huge include", fstest.MapFS{
			"lua/a.lua":     {Data: []byte("--- @include \"lib/x\"\n--- @include \"lib/y\"\nreturn 1")},
			"lua/lib/x.lua": {Data: []byte(huge[:MaxScriptSize/2+10])},
			"lua/lib/y.lua": {Data: []byte(huge[:MaxScriptSize/2+10])},
		}, ErrScriptTooLarge},
		{"invalid UTF-8 outside strings", fstest.MapFS{"lua/bad.lua": {Data: []byte("return \xff\xfe")}}, ErrSyntax},
		{"include escaping the FS", fstest.MapFS{"lua/a.lua": {Data: []byte("--- @include \"../../../etc/passwd\"")}}, ErrSyntax},
		{"absolute include", fstest.MapFS{"lua/a.lua": {Data: []byte("--- @include \"/etc/passwd\"")}}, ErrSyntax},
	}
	for _, tt := range tests {
		if _, err := NewRegistry(tt.fsys, nil); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %.200v, want %v", tt.name, err, tt.want)
		}
	}
	// Invalid UTF-8 inside a string is just bytes, as in Redis.
	if _, err := NewScript("bytes", "return '\xff\xfe'"); err != nil {
		t.Errorf("binary string literal: %v", err)
	}
}

func TestHostileScriptNames(t *testing.T) {
	reg, _ := NewRegistry(nil, nil)
	for _, name := range []string{"..", "../x", "/abs", "a/../b", "a/", "./a", "."} {
		if _, err := reg.Add(name, "return 1"); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Add(%q) = %v, want ErrInvalidName", name, err)
		}
	}
	for _, name := range []string{"a", "lock/acquire", "with space", "ünïcode"} {
		if _, err := reg.Add(name, "return 1"); err != nil {
			t.Errorf("Add(%q) = %v", name, err)
		}
	}
}

// fuzzServer is one miniredis shared by a fuzz target's iterations.
func fuzzServer(f *testing.F) *redis.Client {
	m := miniredis.RunT(f)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	f.Cleanup(func() { _ = c.Close() })
	return c
}

// FuzzRun sends arbitrary keys and arguments: Run never panics, refuses
// misuse with typed errors, passes everything else through byte for byte,
// and never puts an argument's value in an error message.
func FuzzRun(f *testing.F) {
	c := fuzzServer(f)
	echo := MustNewScript("echo", "return {#KEYS, ARGV[1] or '', KEYS[1] or ''}")
	declared := MustNewScript("declared", "-- @key a\n-- @key b\n-- @arg x\nreturn 1")
	f.Add("k", "v", uint8(1), uint8(1))
	f.Add("", "", uint8(0), uint8(0))
	f.Add("\x00\xff{", strings.Repeat("x", 70000), uint8(3), uint8(2))
	f.Fuzz(func(t *testing.T, key, arg string, nkeys, nargs uint8) {
		keys := make([]string, int(nkeys)%8)
		for i := range keys {
			keys[i] = key
		}
		args := make([]any, int(nargs)%8)
		for i := range args {
			args[i] = arg
		}
		ctx := context.Background()
		got, err := echo.Run(ctx, c, keys, args...).Slice()
		switch {
		case err == nil:
			if got[0].(int64) != int64(len(keys)) || (len(args) > 0 && got[1] != arg) || (len(keys) > 0 && got[2] != key) {
				t.Fatalf("echo = %q, want %d keys, arg %q, key %q", got, len(keys), arg, key)
			}
		case key == "" && len(keys) > 0:
			if !errors.Is(err, ErrEmptyKey) {
				t.Fatalf("empty key: %v", err)
			}
		default:
			t.Fatalf("Run(%q, %q): %v", keys, args, err)
		}
		err = declared.Run(ctx, c, keys, args...).Err()
		if err != nil && !errors.Is(err, ErrKeyCount) && !errors.Is(err, ErrArgCount) && !errors.Is(err, ErrEmptyKey) {
			t.Fatalf("declared: untyped error %v", err)
		}
		if err != nil && len(arg) >= 4 && utf8.ValidString(arg) && strings.Contains(err.Error(), arg) && !strings.Contains(key, arg) {
			t.Fatalf("error message contains an argument value: %v", err)
		}
	})
}

// FuzzNewScript: any source gives a script or a typed error, never a panic.
func FuzzNewScript(f *testing.F) {
	for _, s := range []string{"return 1", "#!lua flags=no-writes\nreturn 1", "-- @key a\nreturn KEYS[1]", "x = 1", "return (", "--- @include \"x\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		s, err := NewScript("fuzz", src)
		if err == nil {
			if s.SHA() == "" || s.Source() != src {
				t.Fatalf("script %+v from %q", s, src)
			}
			return
		}
		for _, typed := range []error{ErrSyntax, ErrCheck, ErrEmptySource, ErrScriptTooLarge} {
			if errors.Is(err, typed) {
				return
			}
		}
		t.Fatalf("NewScript(%q): untyped error %v", src, err)
	})
}

// nilScripter is a caller's own client type, whose methods need a value.
type nilScripter struct{ redis.Scripter }

// A typed nil of any client type is ErrNilClient, never a panic: the
// switch over go-redis's clients missed *redis.Tx (a transaction's
// connection) and callers' own types, and a transfer on a nil *redis.Tx
// dereferenced it (packages transfer and cas check their calls).
func TestHostileTypedNilClients(t *testing.T) {
	ctx := context.Background()
	wait := Replicas{N: 1, Timeout: time.Millisecond}
	for _, c := range []redis.Scripter{(*redis.Tx)(nil), (*nilScripter)(nil)} {
		calls := map[string]func() error{
			"Run": func() error { return incrScript.Run(ctx, c, []string{"k"}).Err() },
			"RunAndWait": func() error {
				_, err := incrScript.RunAndWait(ctx, c, wait, []string{"k"})
				return err
			},
		}
		testbackend.ExpectError(t, testbackend.TypeName(c), ErrNilClient, calls)
	}
}
