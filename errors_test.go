package redislua

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/redis/go-redis/v9"
)

// newTestRegistry builds a registry the way users do with //go:embed lua
// and fs.Sub(files, "lua"): names and files are paths under lua/.
func newTestRegistry(t *testing.T, files map[string]string) *Registry {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, src := range files {
		fsys["lua/"+name] = &fstest.MapFile{Data: []byte(src)}
	}
	scripts, err := fs.Sub(fsys, "lua")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := NewRegistry(scripts, nil)
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	return reg
}

func TestRuntimeErrorNamesFileAndLine(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		reg := newTestRegistry(t, map[string]string{
			// The static checks would refuse the misspelt global; the comment
			// silences them so that the server's error can be checked.
			"transfer.lua": "local from = KEYS[1]\nlocal amount = tonumber(ARGV[1])\nreturn x + amount -- redislua:ignore undefined-global\n",
		})
		err := reg.Run(context.Background(), b.client, "transfer", []string{"a"}, 5).Err()
		var se *ScriptError
		if !errors.As(err, &se) {
			t.Fatalf("err = %v (%T), want *ScriptError", err, err)
		}
		if se.Script != "transfer" || se.File != "transfer.lua" || se.Line != 3 {
			t.Errorf("got script %q file %q line %d, want transfer transfer.lua 3", se.Script, se.File, se.Line)
		}
		want := "redislua: transfer.lua:3: attempted to access nonexistent global variable 'x'"
		if err.Error() != want {
			t.Errorf("message\n got %q\nwant %q", err.Error(), want)
		}
		var rerr redis.Error
		if !errors.As(err, &rerr) {
			t.Errorf("Unwrap does not reach the server's redis.Error")
		}
	})
}

func TestFailingRedisCallNamesLine(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		b.client.Set(ctx, "notint", "abc", 0)
		s := MustNewScript("incr", "local k = KEYS[1]\nreturn redis.call('INCR', k)")
		err := s.Run(ctx, b.client, []string{"notint"}).Err()
		var se *ScriptError
		if !errors.As(err, &se) || se.Line != 2 || se.Message != "value is not an integer or out of range" {
			t.Fatalf("err = %#v, want line 2 'value is not an integer or out of range'", err)
		}
	})
}

func TestWriteInReadOnlyScript(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := MustNewScript("ro", "-- @readonly\nredis.call('SET', KEYS[1], 'v')\nreturn 1")
		err := s.Run(context.Background(), b.client, []string{"k"}).Err()
		var se *ScriptError
		if !errors.Is(err, ErrReadOnly) || !errors.As(err, &se) || se.Line != 2 {
			t.Fatalf("err = %v, want ErrReadOnly on line 2", err)
		}
		if n, _ := b.client.Exists(context.Background(), "k").Result(); n != 0 {
			t.Fatal("the read-only script wrote its key")
		}
	})
}

// A shebang is real-Redis only: miniredis refuses it as a syntax error.
func TestShebangNoWritesOnRealRedis(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	s := MustNewScript("ro", "#!lua flags=no-writes\nlocal k = KEYS[1]\nredis.call('SET', k, 'v')")
	b.client.ScriptFlush(ctx)
	b.sent.Take()
	err := s.Run(ctx, b.client, []string{"k"}).Err()
	var se *ScriptError
	if !errors.Is(err, ErrReadOnly) || !errors.As(err, &se) || se.Line != 3 {
		t.Fatalf("err = %v, want ErrReadOnly on line 3 (the shebang counts as line 1)", err)
	}
	if sent := b.sent.Take(); strings.Join(sent, " ") != "evalsha_ro eval_ro" {
		t.Fatalf("sent %v, want evalsha_ro then eval_ro", sent)
	}
}

// error({err=...}) keeps its code as the message on Redis. miniredis turns
// the table into "table: 0x..." text, so this is checked on Redis only.
func TestErrorTableKeepsItsCode(t *testing.T) {
	b := realRedis(t)
	s := MustNewScript("coded", "local x = 1\nerror({err='LIMIT too many calls'})")
	err := s.Run(context.Background(), b.client, nil).Err()
	var se *ScriptError
	if !errors.As(err, &se) || se.Message != "LIMIT too many calls" || se.Line != 2 {
		t.Fatalf("err = %v, want message 'LIMIT too many calls' on line 2", err)
	}
}

func TestErrorReplyPassesThroughUntouched(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := MustNewScript("reply", "return redis.error_reply('INSUFFICIENT balance too low')")
		err := s.Run(context.Background(), b.client, nil).Err()
		var se *ScriptError
		if err == nil || errors.As(err, &se) || err.Error() != "INSUFFICIENT balance too low" {
			t.Fatalf("err = %v (%T), want the script's own reply untouched", err, err)
		}
	})
}

// A compile error from the server (as for a script changed behind the
// library's back) maps to a *SyntaxError naming the script's file.
func TestServerSyntaxErrorIsMapped(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := MustNewScript("jumps", "return 1")
		raw := b.client.Eval(context.Background(), "local i = 1\nreturn (", nil).Err()
		err := s.MapError(raw)
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) || se.File != "jumps" || se.Message == "" {
			t.Fatalf("MapError(%v) = %v (%T), want *SyntaxError", raw, err, err)
		}
		if b.real && se.Line != 2 {
			t.Errorf("Line = %d, want 2", se.Line) // miniredis reports EOF without a line
		}
	})
}

func TestMapErrorInPipelines(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		reg := newTestRegistry(t, map[string]string{"boom.lua": "local a = 1\nerror('boom')"})
		pipe := b.client.Pipeline()
		cmd := reg.Run(ctx, pipe, "boom", nil)
		_, _ = pipe.Exec(ctx)
		var se *ScriptError
		if err := reg.MustScript("boom").MapError(cmd.Err()); !errors.As(err, &se) || se.Line != 2 || se.Message != "boom" {
			t.Fatalf("Script.MapError = %v, want line 2 'boom'", err)
		}
		if b.real { // miniredis names no SHA in its errors
			if err := reg.MapError(cmd.Err()); !errors.As(err, &se) || se.File != "boom.lua" {
				t.Fatalf("Registry.MapError = %v, want boom.lua", err)
			}
		}
		if err := reg.MapError(redis.Nil); err != redis.Nil {
			t.Fatalf("MapError(redis.Nil) = %v", err)
		}
	})
}

// Lua ends a line at "\n", "\r", "\r\n" or "\n\r"; so do headers and
// includes, and errors name the line Redis names.
func TestCROnlyAndCRLFLineEndings(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	for _, eol := range []string{"\r", "\r\n", "\n\r"} {
		lines := func(ls ...string) []byte { return []byte(strings.Join(ls, eol) + eol) }
		reg, err := NewRegistry(fstest.MapFS{
			"keys.lua":     {Data: lines("-- @key a", "-- @key b", "return #KEYS")},
			"fail.lua":     {Data: lines("-- @key k", "-- @arg [x]", "error('three')")},
			"inc.lua":      {Data: lines("--- @include \"lib/fail\"", "if ARGV[1] == 'lib' then fail() end", "error('main')")},
			"lib/fail.lua": {Data: lines("local function fail()", "  error('lib')", "end")},
		}, nil)

		if err != nil {
			t.Fatalf("%q: %v", eol, err)
		}
		keys := reg.MustScript("keys")
		if fmt.Sprint(keys.Keys()) != "[{a  false false} {b  false false}]" {
			t.Errorf("%q: Keys() = %+v, want a and b", eol, keys.Keys())
		}
		if n, err := keys.Run(ctx, b.client, []string{"{k}1", "{k}2"}).Int64(); err != nil || n != 2 {
			t.Errorf("%q: keys = %d, %v", eol, n, err)
		}
		for _, tt := range []struct {
			script, arg, file string
			line              int
		}{
			{"fail", "", "fail.lua", 3},
			{"inc", "lib", "lib/fail.lua", 2},
			{"inc", "main", "inc.lua", 3},
		} {
			err := reg.Run(ctx, b.client, tt.script, []string{"k"}, tt.arg).Err()
			var se *ScriptError
			if !errors.As(err, &se) || se.File != tt.file || se.Line != tt.line {
				t.Errorf("%q: %s(%s) = %v, want %s:%d", eol, tt.script, tt.arg, err, tt.file, tt.line)
			}
			if raw := errors.Unwrap(err); tt.file == "fail.lua" && (raw == nil || !strings.Contains(raw.Error(), "@user_script:3.")) {
				t.Errorf("%q: Redis said %v, want line 3", eol, raw)
			}
		}
		if s := reg.MustScript("fail"); s.Source() != string(lines("-- @key k", "-- @arg [x]", "error('three')")) {
			t.Errorf("%q: Source() = %q, want the file unchanged", eol, s.Source())
		}
	}
}
