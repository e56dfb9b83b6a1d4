package redislua

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

const transferHeader = `-- Moves an amount between two balances.
-- @key from     balance to debit
-- @key to       balance to credit
-- @arg amount   positive integer
-- @arg [id]     transfer ID
-- @return the new balance of from
return redis.call('INCRBY', KEYS[1], ARGV[1])
`

func TestHeaderIsReadIntoTheScript(t *testing.T) {
	s := MustNewScript("transfer", transferHeader)
	if got := fmt.Sprint(s.Keys()); got != "[{from balance to debit false false} {to balance to credit false false}]" {
		t.Errorf("Keys() = %s", got)
	}
	if got := fmt.Sprint(s.Args()); got != "[{amount positive integer false false} {id transfer ID true false}]" {
		t.Errorf("Args() = %s", got)
	}
	if s.Description() != "Moves an amount between two balances." || s.Returns() != "the new balance of from" {
		t.Errorf("Description() = %q, Returns() = %q", s.Description(), s.Returns())
	}
}

func TestDeclaredCountsAreCheckedBeforeSending(t *testing.T) {
	b := forMiniredis(t)
	ctx := context.Background()
	s := MustNewScript("transfer", transferHeader)
	tests := []struct {
		keys []string
		args []any
		want error
		msg  string
	}{
		{[]string{"{a}1"}, []any{1}, ErrKeyCount, "script transfer takes 2 keys (from to), got 1"},
		{[]string{"{a}1", "{a}2", "{a}3"}, []any{1}, ErrKeyCount, "got 3"},
		{[]string{"{a}1", "{a}2"}, nil, ErrArgCount, "script transfer takes 1 to 2 args (amount [id]), got 0"},
		{[]string{"{a}1", "{a}2"}, []any{1, "id", "extra"}, ErrArgCount, "got 3"},
		{[]string{"{a}1", "{a}2"}, []any{[]string{"1", "id", "x"}}, ErrArgCount, "got 3"},
	}
	for _, tt := range tests {
		err := s.Run(ctx, b.client, tt.keys, tt.args...).Err()
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Run(%v, %v) = %v, want %v containing %q", tt.keys, tt.args, err, tt.want, tt.msg)
		}
		var ce *CountError
		if !errors.As(err, &ce) {
			t.Errorf("Run(%v, %v): not a *CountError", tt.keys, tt.args)
		}
	}
	if sent := b.sent.Take(); len(sent) != 0 {
		t.Fatalf("sent %v", sent)
	}
	none := MustNewScript("none", "-- @key k\nreturn 1")
	if err := none.Run(ctx, b.client, []string{"k"}, 1).Err(); err == nil || !strings.HasSuffix(err.Error(), "takes no args, got 1") {
		t.Errorf("declared keys, no args: %v", err)
	}
	b.sent.Take()
	for _, args := range [][]any{{1}, {1, "id"}} {
		if err := s.Run(ctx, b.client, []string{"{a}1", "{a}2"}, args...).Err(); err != nil {
			t.Errorf("Run with %v: %v", args, err)
		}
	}
}

func TestVariadicAndUndeclaredScriptsAcceptAnyCount(t *testing.T) {
	b := forMiniredis(t)
	ctx := context.Background()
	variadic := MustNewScript("v", "-- @key first\n-- @key rest...\nreturn #KEYS")
	undeclared := MustNewScript("u", "return #KEYS")
	if err := variadic.Run(ctx, b.client, nil).Err(); !errors.Is(err, ErrKeyCount) {
		t.Errorf("variadic with no keys = %v, want ErrKeyCount (first is required)", err)
	}
	for _, keys := range [][]string{{"a"}, {"a", "b", "c"}} {
		if n, err := variadic.Run(ctx, b.client, keys).Int64(); err != nil || n != int64(len(keys)) {
			t.Errorf("variadic with %v = %d, %v", keys, n, err)
		}
		if n, err := undeclared.Run(ctx, b.client, keys, 1, 2, 3).Int64(); err != nil || n != int64(len(keys)) {
			t.Errorf("undeclared with %v = %d, %v", keys, n, err)
		}
	}
}

func includeFS() fstest.MapFS {
	return fstest.MapFS{
		"charge.lua": {Data: []byte("-- @key account\n-- @arg amount\n--- @include \"lib/money\"\nreturn charge(KEYS[1], ARGV[1])\n")},
		"lib/money.lua": {Data: []byte(
			"local function charge(key, amount)\n" +
				"  if tonumber(amount) <= 0 then\n" +
				"    error('amount must be positive')\n" +
				"  end\n" +
				"  return redis.call('INCRBY', key, amount)\n" +
				"end\n")},
	}
}

// Errors in included code name the included file and its own line.
func TestIncludeMapsErrorsToTheIncludedFile(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		reg, err := NewRegistry(includeFS(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if names := fmt.Sprint(scriptNames(reg)); names != "[charge]" {
			t.Fatalf("scripts = %s; an included file is a library, not a script", names)
		}
		s := reg.MustScript("charge")
		if n, err := s.Run(ctx, b.client, []string{"acct"}, 5).Int64(); err != nil || n != 5 {
			t.Fatalf("Run = %d, %v", n, err)
		}
		err = s.Run(ctx, b.client, []string{"acct"}, -1).Err()
		var se *ScriptError
		if !errors.As(err, &se) || se.File != "lib/money.lua" || se.Line != 3 || se.Script != "charge" {
			t.Fatalf("err = %v, want lib/money.lua:3 in script charge", err)
		}
		got, err := b.client.ScriptLoad(ctx, s.Source()).Result()
		if err != nil || got != s.SHA() || strings.Contains(s.Source(), "@include") {
			t.Fatalf("SHA %s, SCRIPT LOAD %s, %v: the SHA must be the expanded source's", s.SHA(), got, err)
		}
		if fmt.Sprint(s.Includes()) != "[lib/money.lua]" {
			t.Errorf("Includes() = %v", s.Includes())
		}
	})
}

func TestIncludeProblemsNameTheIncludeLine(t *testing.T) {
	fsys := includeFS()
	fsys["lib/money.lua"] = &fstest.MapFile{Data: []byte("local function charge(key, amount)\n  return (\nend\n")}
	fsys["other.lua"] = &fstest.MapFile{Data: []byte("return 1\n--- @include \"lib/missing\"\n")}
	_, err := NewRegistry(fsys, nil)
	if err == nil {
		t.Fatal("NewRegistry accepted a broken include")
	}
	for _, want := range []string{"lib/money.lua:3", `other.lua:2:`, `cannot include "lib/missing"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
}

func TestStaticChecksRefuseErrorsAndKeepWarnings(t *testing.T) {
	files := fstest.MapFS{
		"ok.lua":   {Data: []byte("local k = KEYS[1] .. ':log'\nreturn redis.call('GET', k)\n")},
		"good.lua": {Data: []byte("return redis.call('GET', KEYS[1])\n")},
	}
	reg, err := NewRegistry(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := reg.Warnings()
	if len(w) != 1 || w[0].ID != "key-not-from-KEYS" || w[0].File != "ok.lua" || w[0].Line != 2 || w[0].Severity != SeverityWarning {
		t.Fatalf("Warnings() = %v", w)
	}

	if _, err := NewRegistry(files, &RegistryOptions{StrictChecks: true}); !errors.Is(err, ErrCheck) || !strings.Contains(err.Error(), "ok.lua:2:") {
		t.Fatalf("strict: err = %v, want ErrCheck naming ok.lua:2", err)
	}
	if reg, err := NewRegistry(files, &RegistryOptions{StrictChecks: true, IgnoredChecks: []string{"key-not-from-KEYS"}}); err != nil || len(reg.Warnings()) != 0 {
		t.Fatalf("strict with the check ignored: %v", err)
	}

	bad := fstest.MapFS{"bad.lua": {Data: []byte("count = 1\nreturn count\n")}}
	_, err = NewRegistry(bad, nil)
	var ce *CheckError
	if !errors.As(err, &ce) || ce.Findings[0].ID != "global-write" || ce.Findings[0].Line != 1 {
		t.Fatalf("err = %v, want a global-write *CheckError on line 1", err)
	}
	bad["bad.lua"] = &fstest.MapFile{Data: []byte("count = 1 -- redislua:ignore global-write\nreturn 1\n")}
	if _, err := NewRegistry(bad, nil); err != nil {
		t.Fatalf("an ignore comment did not silence the check: %v", err)
	}
}

func scriptNames(reg *Registry) []string {
	var names []string
	for _, s := range reg.Scripts() {
		names = append(names, s.Name())
	}
	return names
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

// Two scripts with the same source have the same SHA1, the only thing an
// error names: Registry.MapError cannot tell them apart and says so, while
// Run and Script.MapError map with their own script.
func TestSharedSourceErrorsAreMappedByTheirOwnScript(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	body := []byte("local v = redis.call('EXISTS', KEYS[1])\nreturn redis.call('INCR', KEYS[1])\n")
	reg, err := NewRegistry(fstest.MapFS{
		"a.lua": {Data: body},
		"b.lua": {Data: body},
	}, nil)

	if err != nil {
		t.Fatal(err)
	}
	a, bs := reg.MustScript("a"), reg.MustScript("b")
	if a.SHA() != bs.SHA() {
		t.Fatal("different SHAs")
	}
	key := "shared-source"
	if err := b.client.HSet(ctx, key, "f", "v").Err(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Script{a, bs} {
		err := reg.Run(ctx, b.client, s.Name(), []string{key}).Err()
		var se *ScriptError
		if !errors.As(err, &se) || se.Script != s.Name() || se.File != s.File() || se.Line != 2 || !errors.Is(err, ErrWrongType) {
			t.Errorf("Run(%s) = %#v, want %s:2 of script %s", s.Name(), err, s.File(), s.Name())
		}
	}

	pipe := b.client.Pipeline() // no OptimizePipelines: errors stay raw
	cmd := a.Run(ctx, pipe, []string{key})
	_, _ = pipe.Exec(ctx)
	raw := cmd.Err()
	var se *ScriptError
	if errors.As(raw, &se) {
		t.Fatalf("raw pipeline error already mapped: %v", raw)
	}
	mapped := reg.MapError(raw)
	if errors.As(mapped, &se) {
		t.Errorf("Registry.MapError = %v: a *ScriptError naming %s, but a and b share the SHA1", mapped, se.Script)
	}
	var amb *AmbiguousScriptError
	if !errors.As(mapped, &amb) || fmt.Sprint(amb.Scripts) != "[a b]" || amb.File != "" || amb.Line != 2 || amb.SHA != a.SHA() ||
		!errors.Is(mapped, ErrWrongType) || errors.Unwrap(mapped) != raw || reg.MapError(mapped) != mapped {
		t.Errorf("Registry.MapError = %#v, want an *AmbiguousScriptError for a and b, line 2", mapped)
	}
	if want := "redislua: script a or b (same source), line 2: WRONGTYPE Operation against a key holding the wrong kind of value"; mapped.Error() != want {
		t.Errorf("Error() = %q, want %q", mapped.Error(), want)
	}
	for _, s := range []*Script{a, bs} {
		for _, in := range []error{raw, mapped} {
			err := s.MapError(in)
			if !errors.As(err, &se) || se.Script != s.Name() || se.File != s.File() || se.Line != 2 || !errors.Is(err, ErrWrongType) {
				t.Errorf("%s.MapError(%v) = %v, want %s:2", s.Name(), in, err, s.File())
			}
		}
	}
}

// When the line Redis names is the same line of the same file in every
// script sharing the source, Registry.MapError says where, still naming
// them all. A script added later with that source joins them.
func TestSharedSourceErrorInASharedInclude(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	main := []byte("--- @include \"lib/incr\"\nreturn incr(KEYS[1])\n")
	reg, err := NewRegistry(fstest.MapFS{
		"a.lua":        {Data: main},
		"b.lua":        {Data: main},
		"lib/incr.lua": {Data: []byte("local function incr(key)\n  return redis.call('INCR', key)\nend\n")},
	}, nil)

	if err != nil {
		t.Fatal(err)
	}
	key := "shared-include"
	if err := b.client.HSet(ctx, key, "f", "v").Err(); err != nil {
		t.Fatal(err)
	}
	rawError := func(name string) error {
		pipe := b.client.Pipeline()
		cmd := reg.Run(ctx, pipe, name, []string{key})
		_, _ = pipe.Exec(ctx)
		return cmd.Err()
	}
	mapped := reg.MapError(rawError("b"))
	var amb *AmbiguousScriptError
	if !errors.As(mapped, &amb) || fmt.Sprint(amb.Scripts) != "[a b]" || amb.File != "lib/incr.lua" || amb.Line != 2 || !errors.Is(mapped, ErrWrongType) {
		t.Fatalf("Registry.MapError = %#v, want lib/incr.lua:2 for a and b", mapped)
	}
	if want := "redislua: lib/incr.lua:2: WRONGTYPE Operation against a key holding the wrong kind of value (script a or b: same source)"; mapped.Error() != want {
		t.Errorf("Error() = %q, want %q", mapped.Error(), want)
	}

	// c's line 2 is its own: the scripts no longer agree.
	if _, err := reg.Add("c", reg.MustScript("a").Source()); err != nil {
		t.Fatal(err)
	}
	mapped = reg.MapError(rawError("b"))
	if !errors.As(mapped, &amb) || fmt.Sprint(amb.Scripts) != "[a b c]" || amb.File != "" || amb.Line != 2 {
		t.Fatalf("Registry.MapError = %#v, want line 2 for a, b and c, no file", mapped)
	}

	// A script alone with its SHA1 maps as before.
	if _, err := reg.Add("d", "\n"+reg.MustScript("a").Source()); err != nil {
		t.Fatal(err)
	}
	var se *ScriptError
	if err := reg.MapError(rawError("d")); !errors.As(err, &se) || se.Script != "d" || se.File != "d" || se.Line != 3 {
		t.Errorf("Registry.MapError = %v, want script d line 3", err)
	}
}
