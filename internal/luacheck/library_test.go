package luacheck

import (
	"reflect"
	"strings"
	"testing"
)

func TestCheckLibraryRegistrations(t *testing.T) {
	src := `#!lua name=mylib
local function set(keys, args)
  return redis.call('SET', keys[1], args[1])
end
redis.register_function('set', set)
redis.register_function{function_name='get', callback=function(keys, args)
  return redis.call('GET', keys[1])
end, flags={'no-writes', 'allow-stale', 'no-writes'}, description='reads'}
`
	regs, findings, err := CheckLibrary(src, Config{})
	if err != nil || len(findings) != 0 {
		t.Fatalf("CheckLibrary: %v, %v", findings, err)
	}
	want := []Registration{
		{Name: "set", Line: 5},
		{Name: "get", Flags: []string{"no-writes", "allow-stale"}, Line: 6},
	}
	if !reflect.DeepEqual(regs, want) {
		t.Errorf("registrations = %+v, want %+v", regs, want)
	}
}

// TestCheckLibraryRefuses checks that each bad library gives the finding
// at the line named.
func TestCheckLibraryRefuses(t *testing.T) {
	reg := "redis.register_function('f', function(keys, args) return 1 end)\n"
	tests := []struct {
		name, src string
		line      int
		id, want  string
	}{
		{"nothing", "#!lua name=l\nlocal x = 1\n", 1, IDRegisterFunction, "No functions registered"},
		{"duplicate", "#!lua name=l\n" + reg + reg, 3, IDRegisterFunction, `"f" is already registered on line 2`},
		{"bad name", "#!lua name=l\nredis.register_function('a-b', function() end)\n", 2, IDRegisterFunction, "letters, numbers"},
		{"dynamic name", "#!lua name=l\nlocal n = 'f'\nredis.register_function(n, function() end)\n", 3, IDRegisterFunction, "string literal"},
		{"unknown flag", "#!lua name=l\nredis.register_function{function_name='f', callback=function() end, flags={'bogus'}}\n", 2, IDRegisterFunction, `unknown flag given: "bogus"`},
		{"unknown argument", "#!lua name=l\nredis.register_function{function_name='f', callback=function() end, bogus=1}\n", 2, IDRegisterFunction, "unknown argument"},
		{"no callback", "#!lua name=l\nredis.register_function{function_name='f'}\n", 2, IDRegisterFunction, "callback"},
		{"three arguments", "#!lua name=l\nredis.register_function('f', function() end, 'x')\n", 2, IDRegisterFunction, "wrong number of arguments"},
		{"in a loop", "#!lua name=l\n" + reg + "for _, n in ipairs({'g'}) do\n  redis.register_function(n, function() end)\nend\n", 4, IDRegisterFunction, "top level"},
		{"KEYS global", "#!lua name=l\nredis.register_function('f', function(keys, args)\n  return KEYS[1]\nend)\n", 3, IDUndefinedGlobal, "KEYS is not a global"},
		{"ARGV global", "#!lua name=l\nredis.register_function('f', function(keys, args)\n  return ARGV[1]\nend)\n", 3, IDUndefinedGlobal, "ARGV is not a global"},
		{"literal key", "#!lua name=l\nredis.register_function('f', function(keys, args)\n  return redis.call('GET', 'x')\nend)\n", 3, IDKeyNotFromKEYS, "literal"},
		{"key from args", "#!lua name=l\nredis.register_function('f', function(keys, args)\n  return redis.call('GET', args[1])\nend)\n", 3, IDKeyNotFromKEYS, ""},
	}
	for _, tt := range tests {
		_, findings, err := CheckLibrary(tt.src, Config{})
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		found := false
		for _, f := range findings {
			found = found || f.Line == tt.line && f.ID == tt.id && strings.Contains(f.Message, tt.want)
		}
		if !found {
			t.Errorf("%s: findings %v, want %s at line %d containing %q", tt.name, findings, tt.id, tt.line, tt.want)
		}
	}
}

// TestCheckLibraryKeysParameter checks that the callback's first
// parameter counts as KEYS, a plain function's does not matter, and the
// parameters are not globals.
func TestCheckLibraryKeysParameter(t *testing.T) {
	src := "#!lua name=l\nlocal function f(keys, args)\n  local k = keys[1]\n  return redis.call('SET', k, args[1])\nend\nredis.register_function('f', f)\n"
	_, findings, err := CheckLibrary(src, Config{})
	if err != nil || len(findings) != 0 {
		t.Errorf("findings %v, err %v; want none", findings, err)
	}
}

func TestCheckLibrarySyntaxError(t *testing.T) {
	_, _, err := CheckLibrary("#!lua name=l\nredis.register_function('f', function() end\n", Config{})
	se, ok := err.(*SyntaxError)
	if !ok || se.Line != 2 {
		t.Errorf("err = %v, want a *SyntaxError at line 2", err)
	}
}
