package redislua

import (
	"context"
	"errors"
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
