package luacheck

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// brief renders findings as "line:col id", the part the table tests pin.
func brief(fs []Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%d:%d %s", f.Line, f.Col, f.ID))
	}
	return out
}

type checkCase struct {
	name string
	src  string
	cfg  Config
	want []string // "line:col id"; nil means no findings
}

func runCases(t *testing.T, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := Check(tc.src, tc.cfg)
			if err != nil {
				t.Fatalf("Check(%q): %v", tc.src, err)
			}
			if got := brief(fs); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("Check(%q)\ngot:  %q\nwant: %q\nfindings:\n%s", tc.src, got, tc.want, findingLines(fs))
			}
		})
	}
}

func findingLines(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}

func TestGlobalWrite(t *testing.T) {
	runCases(t, []checkCase{
		{"assign", "x = 1", Config{}, []string{"1:1 global-write"}},
		{"function", "function foo() end", Config{}, []string{"1:10 global-write"}},
		{"assign in function", "local function f()\n  total = 0\nend", Config{}, []string{"2:3 global-write"}},
		{"multiple targets", "local a\na, b = 1, 2", Config{}, []string{"2:4 global-write"}},
		{"through _G", "_G.x = 1", Config{}, []string{"1:1 global-write"}},
		{"through _G index", `_G["x"] = 1`, Config{}, []string{"1:1 global-write"}},
		{"library field", "string.x = 1", Config{}, []string{"1:1 global-write"}},
		{"library function", "function table.sum(t) end", Config{}, []string{"1:10 global-write"}},
		{"library method", "function string:trim() end", Config{}, []string{"1:10 global-write"}},
		{"redis field", "redis.x = 1", Config{}, []string{"1:1 global-write"}},
		{"extra global still read-only", "helper = 1", Config{Globals: []string{"helper"}}, []string{"1:1 global-write"}},
		{"for variable out of scope", "for i = 1, 2 do end\ni = 3", Config{}, []string{"2:1 global-write"}},
		{"do block local out of scope", "do local y = 1 end\ny = 2", Config{}, []string{"2:1 global-write"}},
		{"write after reads is reported once", "n = 1\nreturn n + n", Config{}, []string{"1:1 global-write"}},

		{"local", "local x\nx = 1", Config{}, nil},
		{"local function", "local function foo() end", Config{}, nil},
		{"declared then defined", "local foo\nfunction foo() end", Config{}, nil},
		{"parameter", "local function f(a) a = 1 end", Config{}, nil},
		{"upvalue", "local n = 0\nlocal function inc() n = n + 1 end", Config{}, nil},
		{"for variable", "for i = 1, 3 do i = i + 1 end", Config{}, nil},
		{"generic for variables", "for k, v in pairs(KEYS) do k, v = v, k end", Config{}, nil},
		{"repeat scope", "repeat local done = true until done", Config{}, nil},
		{"nested block", "local x\ndo local y\n  do x, y = 1, 2 end\nend", Config{}, nil},
		{"field of local table", "local t = {}\nt.x = 1\nfunction t.f() end\nfunction t:m() end", Config{}, nil},
		{"KEYS and ARGV are plain tables", "KEYS[1] = 'a'\nARGV[2] = 'b'", Config{}, nil},
		{"method self", "local t = {}\nfunction t:m() self.x = 1 end", Config{}, nil},
	})
}

func TestUndefinedGlobal(t *testing.T) {
	runCases(t, []checkCase{
		{"typo", "return tonumbr(ARGV[1])", Config{}, []string{"1:8 undefined-global"}},
		{"print", "print('x')", Config{}, []string{"1:1 undefined-global"}},
		{"require", "local m = require('m')", Config{}, []string{"1:11 undefined-global"}},
		{"io", "io.write('x')", Config{}, []string{"1:1 undefined-global"}},
		{"debug", "debug.traceback()", Config{}, []string{"1:1 undefined-global"}},
		{"dofile", "dofile('x')", Config{}, []string{"1:1 undefined-global"}},
		{"local used outside its block", "if true then local v = 1 end\nreturn v", Config{}, []string{"2:8 undefined-global"}},
		{"local is not visible in its own value", "local f = function() return f() end", Config{}, []string{"1:29 undefined-global"}},
		{"second of two reads", "local a = 1\nreturn a + b", Config{}, []string{"2:12 undefined-global"}},
		{"repeated name on a line", "local x = y or y", Config{}, []string{"1:11 undefined-global", "1:16 undefined-global"}},

		{"redis globals", "return {redis, KEYS, ARGV, cjson, cmsgpack, bit, struct}", Config{}, nil},
		{"standard library", `local t = {assert, error, getmetatable, ipairs, next, pairs, pcall, rawequal,
  rawget, rawset, select, setmetatable, tonumber, tostring, type, unpack, xpcall,
  _G, _VERSION, gcinfo, loadstring, string, table, math, coroutine, load}`, Config{}, nil},
		{"extra globals", "return helper(KEYS[1])", Config{Globals: []string{"helper"}}, nil},
		{"local function recursion", "local function fact(n) if n < 2 then return 1 end return n * fact(n - 1) end", Config{}, nil},
		{"repeat condition sees body locals", "repeat local done = true until done", Config{}, nil},
		{"parameters", "local function f(a, b, ...) return a, b, ... end", Config{}, nil},
		{"self in method", "local t = {}\nfunction t:get() return self end", Config{}, nil},
		{"assigned global not reported again", "function helper() end\nhelper()", Config{}, []string{"1:10 global-write"}},
		{"feature test of a field", "local unpack = table.unpack or unpack", Config{}, nil},
	})
}

func TestUndefinedField(t *testing.T) {
	runCases(t, []checkCase{
		{"table.unpack", "return table.unpack(KEYS)", Config{}, []string{"1:8 undefined-field"}},
		{"string.split", "local p = string.split(ARGV[1], ',')", Config{}, []string{"1:11 undefined-field"}},
		{"math.round", "return math.round(1.5)", Config{}, []string{"1:8 undefined-field"}},

		{"existing", "return string.format('%d', math.floor(1.5)), table.concat({}), cjson.encode({})", Config{}, nil},
		{"read, not called", "local u = table.unpack or unpack", Config{}, nil},
		{"shadowed library", "local table = {unpack = unpack}\nreturn table.unpack(KEYS)", Config{}, nil},
		{"redis table grows across releases", "redis.setresp(3)\nredis.newthing()", Config{}, nil},
	})
}

func TestKeyNotFromKEYS(t *testing.T) {
	runCases(t, []checkCase{
		{"literal", `redis.call("GET", "k")`, Config{}, []string{"1:19 key-not-from-KEYS"}},
		{"number literal", `redis.call("GET", 5)`, Config{}, []string{"1:1 key-not-from-KEYS"}},
		{"concatenation", `redis.call("GET", KEYS[1] .. ":x")`, Config{}, []string{"1:19 key-not-from-KEYS"}},
		{"string.format", `redis.call("GET", string.format("%s:x", KEYS[1]))`, Config{}, []string{"1:19 key-not-from-KEYS"}},
		{"format method", `redis.call("GET", ("%s:x"):format(KEYS[1]))`, Config{}, []string{"1:20 key-not-from-KEYS"}},
		{"ARGV", `redis.call("GET", ARGV[1])`, Config{}, []string{"1:19 key-not-from-KEYS"}},
		{"local from ARGV", "local k = ARGV[1]\nredis.call('GET', k)", Config{}, []string{"2:19 key-not-from-KEYS"}},
		{"local literal", "local k = 'a'\nredis.call('GET', k)", Config{}, []string{"2:19 key-not-from-KEYS"}},
		{"pcall", `redis.pcall("GET", "k")`, Config{}, []string{"1:20 key-not-from-KEYS"}},
		{"alias", "local rcall = redis.call\nrcall('GET', 'k')", Config{}, []string{"2:14 key-not-from-KEYS"}},
		{"pcall alias", "local call = redis.pcall\ncall('GET', 'k')", Config{}, []string{"2:13 key-not-from-KEYS"}},
		{"index form", `redis["call"]("GET", "k")`, Config{}, []string{"1:22 key-not-from-KEYS"}},
		{"pcall(redis.call)", `local ok = pcall(redis.call, "GET", "k")`, Config{}, []string{"1:37 key-not-from-KEYS"}},
		{"lower-case command", `redis.call("get", "k")`, Config{}, []string{"1:19 key-not-from-KEYS"}},
		{"second key of RENAME", `redis.call("RENAME", KEYS[1], "b")`, Config{}, []string{"1:31 key-not-from-KEYS"}},
		{"MSET keys only", `redis.call("MSET", KEYS[1], "v", "k2", "v2")`, Config{}, []string{"1:34 key-not-from-KEYS"}},
		{"MGET every argument", `redis.call("MGET", KEYS[1], "b", "c")`, Config{}, []string{"1:29 key-not-from-KEYS", "1:34 key-not-from-KEYS"}},
		{"SMOVE two keys", `redis.call("SMOVE", "a", KEYS[2], "m")`, Config{}, []string{"1:21 key-not-from-KEYS"}},
		{"subcommand key", `redis.call("OBJECT", "ENCODING", "k")`, Config{}, []string{"1:34 key-not-from-KEYS"}},
		{"reassigned to a literal", "local k = KEYS[1]\nk = 'x'\nredis.call('GET', k)", Config{}, []string{"3:19 key-not-from-KEYS"}},
		{"and/or of literals", "local k = ARGV[1] == '1' and 'a' or 'b'\nredis.call('GET', k)", Config{}, []string{"2:19 key-not-from-KEYS"}},
		{"key on a later line", "redis.call('SET',\n  'k', 1)", Config{}, []string{"2:3 key-not-from-KEYS"}},

		{"KEYS", `redis.call("GET", KEYS[1])`, Config{}, nil},
		{"local from KEYS", "local k = KEYS[1]\nredis.call('GET', k)", Config{}, nil},
		{"multiple assignment", "local a, b = KEYS[1], KEYS[2]\nredis.call('RENAME', a, b)", Config{}, nil},
		{"unpack(KEYS) into locals", "local a, b = unpack(KEYS)\nredis.call('RENAME', a, b)", Config{}, nil},
		{"ipairs(KEYS)", "for _, k in ipairs(KEYS) do redis.call('DEL', k) end", Config{}, nil},
		{"pairs(KEYS)", "for _, k in pairs(KEYS) do redis.call('DEL', k) end", Config{}, nil},
		{"numeric for over KEYS", "for i = 1, #KEYS do redis.call('DEL', KEYS[i]) end", Config{}, nil},
		{"local from KEYS[i]", "for i = 1, #KEYS do local k = KEYS[i]\nredis.call('DEL', k) end", Config{}, nil},
		{"alias of KEYS", "local keys = KEYS\nredis.call('GET', keys[1])", Config{}, nil},
		{"table of keys", "local k = {src = KEYS[1], dst = KEYS[2]}\nredis.call('RENAME', k.src, k.dst)", Config{}, nil},
		{"ipairs of a table of keys", "for _, k in ipairs({KEYS[1], KEYS[2]}) do redis.call('DEL', k) end", Config{}, nil},
		{"parameter", "local function get(key) return redis.call('GET', key) end", Config{}, nil},
		{"local from parameter", "local function get(key) local k = key\nreturn redis.call('GET', k) end", Config{}, nil},
		{"function result", "local k = pick()\nredis.call('GET', k)", Config{Globals: []string{"pick"}}, nil},
		{"table field", "local t = cjson.decode(ARGV[1])\nredis.call('GET', t.key)", Config{}, nil},
		{"KEYS or fallback", "local k = KEYS[2] or KEYS[1]\nredis.call('GET', k)", Config{}, nil},
		{"reassigned to KEYS", "local k = 'x'\nk = KEYS[1]\nredis.call('GET', k)", Config{}, nil},
		{"unpack(KEYS) as arguments", "redis.call('DEL', unpack(KEYS))", Config{}, nil},
		{"expanding tail", "redis.call('MSET', KEYS[1], 'v', unpack(ARGV))", Config{}, nil},
		{"non-literal command", "local cmd = 'GET'\nredis.call(cmd, 'k')", Config{}, nil},
		{"keyless command", "redis.call('PING', 'x')\nredis.call('TIME')", Config{}, nil},
		{"value positions", "redis.call('SET', KEYS[1], 'literal')\nredis.call('HSET', KEYS[1], 'f', ARGV[1])", Config{}, nil},
		{"MIGRATE empty key", "redis.call('MIGRATE', 'h', 6379, '', 0, 5000, 'KEYS', KEYS[1])", Config{}, nil},
		{"shadowed redis", "local redis = {call = function() end}\nredis.call('GET', 'k')", Config{}, nil},
		{"module command", "redis.call('JSON.GET', 'k')", Config{}, nil},
	})
}

func TestKeysIndex(t *testing.T) {
	two := Config{DeclaredKeys: 2}
	runCases(t, []checkCase{
		{"beyond declared", "return KEYS[3]", two, []string{"1:8 keys-index"}},
		{"zero", "return KEYS[0]", Config{}, []string{"1:8 keys-index"}},
		{"negative", "return KEYS[-1]", Config{}, []string{"1:8 keys-index"}},
		{"fraction", "return KEYS[1.5]", Config{}, []string{"1:8 keys-index"}},
		{"string", "return KEYS.first", Config{}, []string{"1:8 keys-index"}},
		{"hex beyond declared", "return KEYS[0x10]", two, []string{"1:8 keys-index"}},

		{"within declared", "return {KEYS[1], KEYS[2]}", two, nil},
		{"undeclared", "return KEYS[100]", Config{}, nil},
		{"variable", "local i = 3\nreturn KEYS[i]", two, nil},
		{"length", "return KEYS[#KEYS]", two, nil},
		{"exponent", "return KEYS[2e0]", two, nil},
		{"shadowed KEYS", "local KEYS = {}\nreturn KEYS[0]", Config{}, nil},
		{"assignment target", "KEYS[5] = 'x'", two, nil},
	})
}

func TestWriteInReadonly(t *testing.T) {
	ro := Config{NoWrites: true}
	runCases(t, []checkCase{
		{"SET", "redis.call('SET', KEYS[1], 'v')", ro, []string{"1:12 write-in-readonly"}},
		{"EXPIRE", "redis.call('expire', KEYS[1], 5)", ro, []string{"1:12 write-in-readonly"}},
		{"PUBLISH", "redis.call('PUBLISH', 'c', 'm')", ro, []string{"1:12 write-in-readonly"}},
		{"PFCOUNT", "redis.call('PFCOUNT', KEYS[1])", ro, []string{"1:12 write-in-readonly"}},
		{"XGROUP CREATE", "redis.call('XGROUP', 'CREATE', KEYS[1], 'g', '$')", ro, []string{"1:12 write-in-readonly"}},
		{"through alias", "local rcall = redis.call\nrcall('DEL', KEYS[1])", ro, []string{"2:7 write-in-readonly"}},
		{"later command", "redis.call('HEXPIRE', KEYS[1], 5, 'FIELDS', 1, 'f')", ro, []string{"1:12 write-in-readonly"}},

		{"reads", "redis.call('GET', KEYS[1])\nredis.call('ZRANGE', KEYS[1], 0, -1)\nredis.call('TTL', KEYS[1])", ro, nil},
		{"read subcommand", "redis.call('OBJECT', 'ENCODING', KEYS[1])", ro, nil},
		{"writes allowed", "redis.call('SET', KEYS[1], 'v')", Config{}, nil},
	})
}

func TestBlockingCommand(t *testing.T) {
	runCases(t, []checkCase{
		{"KEYS", "return redis.call('KEYS', '*')", Config{}, []string{"1:19 blocking-command"}},
		{"FLUSHALL", "redis.call('flushall')", Config{}, []string{"1:12 blocking-command"}},
		{"FLUSHDB", "redis.pcall('FlushDB')", Config{}, []string{"1:13 blocking-command"}},

		{"SCAN", "return redis.call('SCAN', '0', 'MATCH', 'x*')", Config{}, nil},
		{"KEYS table", "return #KEYS", Config{}, nil},
	})
}

func TestUnknownCommand(t *testing.T) {
	runCases(t, []checkCase{
		{"typo", "redis.call('SETT', KEYS[1], 'v')", Config{}, []string{"1:12 unknown-command"}},
		{"nonsense", "redis.call('frobnicate')", Config{}, []string{"1:12 unknown-command"}},
		{"empty", "redis.call('')", Config{}, []string{"1:12 unknown-command"}},

		{"any case", "redis.call('zRevRangeByScore', KEYS[1], '+inf', '-inf')", Config{}, nil},
		{"module command", "redis.call('FT.SEARCH', 'idx', '*')", Config{}, nil},
		{"later command", "redis.call('HGETDEL', KEYS[1], 'FIELDS', 1, 'f')", Config{}, nil},
		{"unknown subcommand not reported", "redis.call('CLIENT', 'NO-TOUCH', 'on')", Config{}, nil},
		{"not a redis call", "local t = {call = function() end}\nt.call('SETT')", Config{}, nil},
	})
}

func TestCommandNotAllowed(t *testing.T) {
	runCases(t, []checkCase{
		{"MULTI", "redis.call('MULTI')", Config{}, []string{"1:12 command-not-allowed"}},
		{"BLPOP", "redis.call('BLPOP', KEYS[1], 0)", Config{}, []string{"1:12 command-not-allowed"}},
		{"EVALSHA", "redis.call('EVALSHA', 'abc', 0)", Config{}, []string{"1:12 command-not-allowed"}},
		{"SCRIPT LOAD", "redis.call('SCRIPT', 'LOAD', 'return 1')", Config{}, []string{"1:12 command-not-allowed"}},

		{"LMOVE", "redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')", Config{}, nil},
		{"CLIENT ID", "redis.call('CLIENT', 'ID')", Config{}, []string{"1:12 command-not-allowed"}},
	})
}

func TestWrongArity(t *testing.T) {
	runCases(t, []checkCase{
		{"too few", "redis.call('SET', KEYS[1])", Config{}, []string{"1:12 wrong-arity"}},
		{"too many", "redis.call('GET', KEYS[1], 'x')", Config{}, []string{"1:12 wrong-arity"}},
		{"none", "redis.call('INCR')", Config{}, []string{"1:12 wrong-arity"}},
		{"subcommand", "redis.call('OBJECT', 'FREQ')", Config{}, []string{"1:12 wrong-arity"}},
		{"too many before a tail", "redis.call('GET', KEYS[1], 'x', unpack(ARGV))", Config{}, []string{"1:12 wrong-arity"}},

		{"exact", "redis.call('GET', KEYS[1])\nredis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')", Config{}, nil},
		{"minimum", "redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])", Config{}, nil},
		{"tail may fill", "redis.call('SET', KEYS[1], unpack(ARGV))", Config{}, nil},
		{"vararg tail", "local function f(...) return redis.call('SET', KEYS[1], ...) end", Config{}, nil},
		{"parenthesized call is one value", "redis.call('SET', KEYS[1], (f()))", Config{Globals: []string{"f"}}, nil},
	})
}

func TestArgvArith(t *testing.T) {
	runCases(t, []checkCase{
		{"addition", "return ARGV[1] + 1", Config{}, []string{"1:8 argv-arith"}},
		{"both operands", "return ARGV[1] * ARGV[2]", Config{}, []string{"1:8 argv-arith", "1:18 argv-arith"}},
		{"unary minus", "return -ARGV[1]", Config{}, []string{"1:9 argv-arith"}},
		{"modulo and power", "return 2 % ARGV[1], 2 ^ ARGV[2]", Config{}, []string{"1:12 argv-arith", "1:25 argv-arith"}},
		{"comparison with number", "if ARGV[1] > 0 then end", Config{}, []string{"1:4 argv-arith"}},
		{"comparison of two ARGV", "if ARGV[1] <= ARGV[2] then end", Config{}, []string{"1:4 argv-arith", "1:15 argv-arith"}},
		{"equality with number", "if ARGV[1] == 1 then end", Config{}, []string{"1:4 argv-arith"}},
		{"inequality with negative number", "if -1 ~= ARGV[1] then end", Config{}, []string{"1:10 argv-arith"}},
		{"local from ARGV", "local limit = ARGV[1]\nif redis.call('INCR', KEYS[1]) > limit then end", Config{}, []string{"2:34 argv-arith"}},

		{"tonumber", "return tonumber(ARGV[1]) + 1", Config{}, nil},
		{"local converted", "local n = tonumber(ARGV[1])\nreturn n * 2", Config{}, nil},
		{"reassigned with tonumber", "local n = ARGV[1]\nn = tonumber(n)\nreturn n - 1", Config{}, nil},
		{"string comparison", "if ARGV[1] < 'm' then end", Config{}, nil},
		{"string equality", "if ARGV[1] == 'yes' then end", Config{}, nil},
		{"length", "return #ARGV + 1", Config{}, nil},
		{"concatenation", "return ARGV[1] .. 'x'", Config{}, nil},
		{"shadowed ARGV", "local ARGV = {1}\nreturn ARGV[1] + 1", Config{}, nil},
	})
}

func TestSuppression(t *testing.T) {
	runCases(t, []checkCase{
		{"same line", "redis.call('GET', 'k') -- redislua:ignore key-not-from-KEYS", Config{}, nil},
		{"line before", "-- redislua:ignore key-not-from-KEYS\nredis.call('GET', 'k')", Config{}, nil},
		{"line before, over comments", "-- redislua:ignore key-not-from-KEYS\n-- why\nredis.call('GET', 'k')", Config{}, nil},
		{"several IDs with commas", "x = y -- redislua:ignore global-write, undefined-global", Config{}, nil},
		{"several IDs with spaces", "x = y -- redislua:ignore global-write undefined-global", Config{}, nil},
		{"reason after IDs", "x = 1 -- redislua:ignore global-write: set by the test harness", Config{}, nil},
		{"no IDs silences all", "x = y -- redislua:ignore", Config{}, nil},
		{"case-insensitive", "x = 1 -- RedisLua:Ignore GLOBAL-WRITE", Config{}, nil},
		{"statement's first line", "redis.call('SET', -- redislua:ignore key-not-from-KEYS\n  'k', 1)", Config{}, nil},
		{"doc comment dashes", "x = 1 --- redislua:ignore global-write", Config{}, nil},

		{"other ID", "x = 1 -- redislua:ignore undefined-global", Config{}, []string{"1:1 global-write"}},
		{"only listed IDs", "x = y -- redislua:ignore global-write", Config{}, []string{"1:5 undefined-global"}},
		{"unknown ID silences nothing", "x = 1 -- redislua:ignore globalwrite", Config{}, []string{"1:1 global-write"}},
		{"two lines before", "-- redislua:ignore global-write\n\nx = 1", Config{}, []string{"3:1 global-write"}},
		{"next line only", "x = 1 -- redislua:ignore global-write\ny = 1", Config{}, []string{"2:1 global-write"}},
		{"inside a string", "x = '-- redislua:ignore global-write'", Config{}, []string{"1:1 global-write"}},
		{"long comment", "x = 1 --[[ redislua:ignore global-write ]]", Config{}, []string{"1:1 global-write"}},
		{"prefix of a longer word", "x = 1 -- redislua:ignored global-write", Config{}, []string{"1:1 global-write"}},
	})
}

func TestSyntaxError(t *testing.T) {
	for _, tc := range []struct {
		name      string
		src       string
		line, col int
		msg       string
	}{
		{"unexpected token", "local x = = 1", 1, 11, "near '='"},
		{"later line", "local a = 1\n\nreturn return", 3, 8, "near 'return'"},
		{"end of script", "local x =", 1, 9, "at end of script"},
		{"end of script after a line break", "local x = 1\nreturn x +\n\n", 2, 10, "at end of script"},
		{"unterminated string", "local s = 'abc", 1, 14, "unterminated string"},
		{"goto", "for i = 1, 3 do\n  goto continue\n  ::continue::\nend", 2, 3, "Lua 5.1"},
		{"label", "::top::", 1, 1, "Lua 5.1"},
		{"invalid token", "local x = 1 ~ 2", 1, 13, "near '~'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := Check(tc.src, Config{})
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Check(%q) = %v, %v; want a *SyntaxError", tc.src, fs, err)
			}
			if se.Line != tc.line || se.Col != tc.col || !strings.Contains(se.Message, tc.msg) {
				t.Errorf("Check(%q) error = %d:%d %q; want %d:%d containing %q",
					tc.src, se.Line, se.Col, se.Message, tc.line, tc.col, tc.msg)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("errors.Is(%v, ErrSyntax) = false", err)
			}
			if !strings.HasPrefix(err.Error(), "luacheck: syntax error at ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestCheckEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want []string
	}{
		{"empty", "", nil},
		{"only comments", "-- nothing\n--[[ at all ]]", nil},
		{"shebang kept out", "#!lua flags=no-writes\nx = 1", []string{"2:1 global-write"}},
		{"blank shebang line", "\nx = 1", []string{"2:1 global-write"}},
		{"CRLF line endings", "local a = 1\r\n\r\nx = a", []string{"3:1 global-write"}},
		{"CR line endings", "local a = 1\r\rx = a", []string{"3:1 global-write"}},
		{"long string spans lines", "local s = [[\na\nb]]\nx = s", []string{"4:1 global-write"}},
		{"escaped line break in string", "local s = 'a\\\nb'\nx = s", []string{"3:1 global-write"}},
		{"duplicates collapse", "local t = {}\nfoo(foo)", []string{"2:1 undefined-global", "2:5 undefined-global"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := Check(tc.src, Config{})
			if err != nil {
				t.Fatalf("Check(%q): %v", tc.src, err)
			}
			if got := brief(fs); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("Check(%q) = %q, want %q", tc.src, got, tc.want)
			}
		})
	}
}

func TestFindingsSortedAndComplete(t *testing.T) {
	src := "y = 1\nx = 1\nredis.call('GET', 'k') x2 = KEYS[0]"
	fs, err := Check(src, Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1:1 global-write", "2:1 global-write", "3:19 key-not-from-KEYS", "3:24 global-write", "3:29 keys-index"}
	if got := brief(fs); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, f := range fs {
		if f.Severity != severities[f.ID] {
			t.Errorf("%s: severity %v, want %v", f.ID, f.Severity, severities[f.ID])
		}
		if f.Message == "" || strings.ContainsAny(f.Message, "\r\n") {
			t.Errorf("%s: message %q is not one line", f.ID, f.Message)
		}
	}
}

func TestSeverityString(t *testing.T) {
	for s, want := range map[Severity]string{Error: "error", Warning: "warning", 0: "Severity(0)"} {
		if got := s.String(); got != want {
			t.Errorf("Severity(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

func TestFindingString(t *testing.T) {
	f := Finding{Line: 3, Col: 7, ID: IDGlobalWrite, Severity: Error, Message: "m"}
	if got, want := f.String(), "3:7: error: m [global-write]"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestEveryIDHasASeverity(t *testing.T) {
	ids := []string{IDErrorTable, IDGlobalWrite, IDUndefinedGlobal, IDUndefinedField, IDCommandNotAllowed,
		IDWrongArity, IDKeyNotFromKEYS, IDKeysIndex, IDWriteInReadonly, IDBlockingCommand,
		IDUnknownCommand, IDArgvArith, IDServerErrorCode, IDRegisterFunction, IDCJSONNumber}
	if len(ids) != len(severities) {
		t.Errorf("%d IDs, %d severities", len(ids), len(severities))
	}
	for _, id := range ids {
		if severities[id] == 0 {
			t.Errorf("%s has no severity", id)
		}
	}
}

func TestTooDeep(t *testing.T) {
	// Nesting past Lua's 200 levels is refused as Redis refuses it, before
	// the walker could go deep; a long chain of a left-associative
	// operator is not nesting for Lua, and Redis compiles it.
	src := "return " + strings.Repeat("- ", maxDepth+10) + "1"
	var se *SyntaxError
	if _, err := Check(src, Config{}); !errors.As(err, &se) || !strings.Contains(se.Message, "too many syntax levels") {
		t.Fatalf("Check(deep unary) error = %v, want a syntax error for too many syntax levels", err)
	}
	src = "return ARGV[1] + " + strings.Repeat("1 + ", 3*maxDepth) + "1"
	found, err := Check(src, Config{})
	if err != nil || len(found) != 1 || found[0].ID != IDArgvArith {
		t.Fatalf("Check(long left chain) = %v, %v; want one argv-arith finding", found, err)
	}
}
