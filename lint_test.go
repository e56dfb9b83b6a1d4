package redislua

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
)

// agreeCase is a script whose fate on Redis 7.0 the static checks must
// predict: NewScript refuses it exactly when Redis does.
type agreeCase struct {
	name string
	src  string
	// crash: the question is whether the server survives the script (each
	// such case runs on a server of its own). Otherwise it is whether
	// EVAL compiles and runs the script without an error.
	crash bool
}

func repeatJoin(format string, n int, sep string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(format, i)
	}
	return strings.Join(parts, sep)
}

// localsSrc declares n locals, one a line.
func localsSrc(n int) string { return repeatJoin("local v%[1]d = %[1]d", n, "\n") + "\n" }

func agreeCases() []agreeCase {
	r := strings.Repeat
	upvalues := func(n int) string {
		return localsSrc(n) + "local function f() return " + repeatJoin("v%d", n, " + ") + " end\nreturn f()"
	}
	assign := func(n int) string {
		return "local t = {}\n" + repeatJoin("t[%d]", n, ", ") + " = 1\nreturn 1"
	}
	var cases []agreeCase
	// Lua 5.1's fixed limits, at their edges.
	for _, n := range []int{198, 199} {
		cases = append(cases,
			agreeCase{name: fmt.Sprintf("parentheses-%d", n), src: "return " + r("(", n) + "1" + r(")", n)},
			agreeCase{name: fmt.Sprintf("do-blocks-%d", n), src: r("do ", n) + "local x = 1 " + r("end ", n) + "return 1"},
			agreeCase{name: fmt.Sprintf("concat-%d", n), src: "local a = 'x' return a" + r(" .. a", n)},
			agreeCase{name: fmt.Sprintf("power-%d", n), src: "return 1" + r(" ^ 1", n)},
			agreeCase{name: fmt.Sprintf("unary-minus-%d", n), src: "return " + r("- ", n) + "1"},
			agreeCase{name: fmt.Sprintf("not-%d", n), src: "return " + r("not ", n) + "true"},
			agreeCase{name: fmt.Sprintf("calls-%d", n), src: "local f = function(...) return ... end return " + r("f(", n) + "1" + r(")", n)},
		)
	}
	cases = append(cases,
		agreeCase{name: "functions-99", src: "local f = " + r("function() return ", 99) + "1" + r(" end", 99) + " return 1"},
		agreeCase{name: "functions-100", src: "local f = " + r("function() return ", 100) + "1" + r(" end", 100) + " return 1"},
		agreeCase{name: "tables-199", src: "local t = " + r("{", 199) + r("}", 199) + " return 1"},
		agreeCase{name: "tables-200", src: "local t = " + r("{", 200) + r("}", 200) + " return 1"},
		agreeCase{name: "locals-200", src: localsSrc(200) + "return 1"},
		agreeCase{name: "locals-201", src: localsSrc(201) + "return 1"},
		agreeCase{name: "locals-198-and-2-params", src: "local function f(a, b)\n" + localsSrc(198) + "return a\nend\nreturn f(1, 2)"},
		agreeCase{name: "locals-199-and-2-params", src: "local function f(a, b)\n" + localsSrc(199) + "return a\nend\nreturn f(1, 2)"},
		agreeCase{name: "locals-196-and-for", src: localsSrc(196) + "for i = 1, 2 do end\nreturn 1"},
		agreeCase{name: "locals-197-and-for", src: localsSrc(197) + "for i = 1, 2 do end\nreturn 1"},
		agreeCase{name: "locals-199-vararg", src: "local function f(...)\n" + localsSrc(199) + "return ...\nend\nreturn f(1)"},
		agreeCase{name: "locals-200-vararg", src: "local function f(...)\n" + localsSrc(200) + "return ...\nend\nreturn f(1)"},
		agreeCase{name: "upvalues-60", src: upvalues(60)},
		agreeCase{name: "upvalues-61", src: upvalues(61)},
		agreeCase{name: "assignment-200-targets", src: assign(200)},
		agreeCase{name: "assignment-201-targets", src: assign(201)},
		agreeCase{name: "left-chain-12000", src: "return 1" + r(" + 1", 12000)},
		agreeCase{name: "elseif-chain-6000", src: "local x = tonumber('7') if x == 0 then x = 1" + r(" elseif x == 0 then x = 1", 6000) + " end return x"},
		agreeCase{name: "vararg-outside-vararg-function", src: "local function f() return ... end return f()"},
		agreeCase{name: "vararg-in-main-chunk", src: "local a = ... return 1"},
		agreeCase{name: "ambiguous-call", src: "local a = tostring\n(1)\nreturn a"},
		agreeCase{name: "ambiguous-call-with-semicolon", src: "local a = tostring;\n(tostring)(1)\nreturn a"},
		agreeCase{name: "escape-300", src: `return "\300"`},
		agreeCase{name: "escape-255", src: `return "\255"`},
		agreeCase{name: "goto", src: "goto done\n::done::\nreturn 1"},
		agreeCase{name: "malformed-number", src: "local x = 0 if x == 0then return 1 end return 2"},
		agreeCase{name: "double-comma-in-table", src: "return {1,,2}"},
		agreeCase{name: "break-outside-loop", src: "local x = 1 if x then break end return x"},
		agreeCase{name: "break-in-loop", src: "for i = 1, 3 do if i == 2 then break end end return 1"},
		agreeCase{name: "empty-statement", src: "local a = 1;;\nreturn a"},
		agreeCase{name: "empty-statement-first", src: "; return 1"},
		agreeCase{name: "semicolons", src: "local a = 1; local b = 2; return a + b;"},
		agreeCase{name: "vararg-arg-table", src: "local function f(a, ...) return arg[1] end return f(1, 2)"},
		// Numbers: glibc's strtod reads hexadecimal floats.
		agreeCase{name: "hex-float", src: "return 0x1p4"},
		agreeCase{name: "hex-float-upper", src: "return 0XAP1 + 0x1P10"},
		agreeCase{name: "hex-float-huge", src: "return tostring(0x1p9999)"},
		agreeCase{name: "hex-float-keys-index", src: "return KEYS[0x1p0]"},
		agreeCase{name: "hex-float-no-exponent", src: "return 0x1p"},
		agreeCase{name: "hex-float-fraction", src: "return 0x1.8"},
		// The sandbox of Redis 7.0.
		agreeCase{name: "os", src: "return type(os)"},
		agreeCase{name: "os-clock", src: "return os.clock()"},
		agreeCase{name: "setfenv", src: "return type(setfenv)"},
		agreeCase{name: "getfenv", src: "return type(getfenv)"},
		agreeCase{name: "newproxy", src: "return type(newproxy)"},
		agreeCase{name: "gcinfo", src: "return type(gcinfo)"},
		agreeCase{name: "loadstring", src: "return type(loadstring)"},
		agreeCase{name: "rawset-G", src: "rawset(_G, 'x', 1) return 1"},
		agreeCase{name: "rawset-string", src: "rawset(string, 'x', 1) return 1"},
		agreeCase{name: "rawset-KEYS", src: "rawset(KEYS, 1, 'x') return 1"},
		agreeCase{name: "setmetatable-G", src: "setmetatable(_G, {}) return 1"},
		// Blocking commands.
		agreeCase{name: "blpop", src: "return redis.call('BLPOP', KEYS[1], 0)"},
		agreeCase{name: "xread-block", src: "return redis.call('XREAD', 'BLOCK', 0, 'STREAMS', KEYS[1], '$')"},
		agreeCase{name: "xread-block-lower-case", src: "return redis.call('xread', 'count', 1, 'block', 10, 'streams', KEYS[1], '$')"},
		agreeCase{name: "xreadgroup-block", src: "return redis.pcall('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', 0, 'STREAMS', KEYS[1], '>')"},
		agreeCase{name: "xread-stream-named-block", src: "return redis.call('XREAD', 'STREAMS', KEYS[1], '0')"},
		agreeCase{name: "blmpop", src: "return redis.call('BLMPOP', 0, 1, KEYS[1], 'LEFT')"},
		agreeCase{name: "wait", src: "return redis.call('WAIT', 0, 0)"},
		// The shebang, read as Redis 7.0 reads it.
		agreeCase{name: "shebang-without-line-break", src: "#!lua"},
		agreeCase{name: "shebang-flags-without-line-break", src: "#!lua flags=no-writes"},
		agreeCase{name: "shebang-quoted-flags", src: "#!lua \"flags=no-writes\"\nreturn 1"},
		agreeCase{name: "shebang-quoted-flag", src: "#!lua flags='no-writes'\nreturn 1"},
		agreeCase{name: "shebang-escaped-flag", src: "#!lua \"flags=no\\x2dwrites\"\nreturn 1"},
		agreeCase{name: "shebang-unbalanced-quote", src: "#!lua \"flags=no-writes\nreturn 1"},
		agreeCase{name: "shebang-crlf", src: "#!lua flags=no-writes\r\nreturn 1"},
		agreeCase{name: "shebang-cr-only", src: "#!lua\rreturn 1\nreturn 2"},
		// error() with a table: Redis 7.0.15 dies of SIGSEGV unless err is
		// a string or a number.
		agreeCase{name: "error-empty-table", src: "error({})", crash: true},
		agreeCase{name: "error-tostring-metatable", src: "error(setmetatable({}, {__tostring = function() return 'x' end}))", crash: true},
		agreeCase{name: "error-err-table", src: "error({err = {}})", crash: true},
		agreeCase{name: "error-err-true", src: "error({err = true})", crash: true},
		agreeCase{name: "error-KEYS", src: "error(KEYS)", crash: true},
		agreeCase{name: "error-status-reply", src: "error(redis.status_reply('OK'))", crash: true},
		agreeCase{name: "error-err-string", src: "error({err = 'MYCODE went wrong'})", crash: true},
		agreeCase{name: "error-err-number", src: "error({err = 42})", crash: true},
		agreeCase{name: "error-error-reply", src: "error(redis.error_reply('MYCODE went wrong'))", crash: true},
		agreeCase{name: "error-string", src: "error('went wrong')", crash: true},
		agreeCase{name: "error-err-from-index", src: "error(setmetatable({}, {__index = {err = 'E x'}}))", crash: true},
		agreeCase{name: "error-caught-and-raised", src: "local ok, e = pcall(redis.call, 'NOSUCH') error(e)", crash: true},
	)
	return cases
}

// TestChecksAgreeWithRedis runs every case on redis-server 7.0 and through
// NewScript, and checks that NewScript refuses exactly the scripts Redis
// refuses (to compile, or when they run), and the scripts that crash it.
func TestChecksAgreeWithRedis(t *testing.T) {
	srv := redistest.Start(t)
	shared := srv.Client(t)
	ctx := context.Background()
	for _, tc := range agreeCases() {
		t.Run(tc.name, func(t *testing.T) {
			_, checkErr := NewScript("agree/"+tc.name+".lua", tc.src)
			var redisRefuses bool
			var what string
			if tc.crash {
				own := redistest.Start(t)
				c := own.Client(t)
				err := c.Eval(ctx, tc.src, []string{"agree:" + tc.name}).Err()
				alive := c.Ping(ctx).Err() == nil
				redisRefuses, what = !alive, fmt.Sprintf("server alive=%v after EVAL error %v", alive, err)
			} else {
				err := shared.Eval(ctx, tc.src, []string{"agree:" + tc.name}).Err()
				if errors.Is(err, redis.Nil) {
					err = nil
				}
				redisRefuses, what = err != nil, fmt.Sprintf("EVAL error %v", err)
			}
			if checkRefuses := checkErr != nil; checkRefuses != redisRefuses {
				t.Errorf("Redis 7.0: %s\nNewScript: %v\nNewScript refuses=%v, Redis refuses=%v", what, checkErr, checkRefuses, redisRefuses)
			}
		})
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
