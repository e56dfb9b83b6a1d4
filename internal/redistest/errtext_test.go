package redistest

// These tests record the exact error replies of Redis 7.0 that the library
// recognises. On another version they check only the error code (the
// first word) and log the text, so that a change shows in the test output.

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// spinLua busy-waits for ARGV[1] microseconds of server time, then returns 1.
const spinLua = `local s = redis.call('TIME')
repeat local n = redis.call('TIME') until (n[1]-s[1])*1000000 + (n[2]-s[2]) > tonumber(ARGV[1])
return 1`

// spinLibrary is a function library whose function spin is spinLua.
const spinLibrary = "#!lua name=redistest\n" +
	"redis.register_function('spin', function(keys, args)\n" +
	"local s = redis.call('TIME')\n" +
	"repeat local n = redis.call('TIME') until (n[1]-s[1])*1000000 + (n[2]-s[2]) > tonumber(args[1])\n" +
	"return 1 end)"

var shaRE = regexp.MustCompile(`\b[0-9a-f]{40}\b`)

// errText returns err's text with script SHA1s replaced by <sha>.
func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return shaRE.ReplaceAllString(err.Error(), "<sha>")
}

// serverVersion returns the redis_version of s.
func serverVersion(t *testing.T, s *Server) string {
	t.Helper()
	info, err := roundTrip(s.Addr, s.tlsConfig, "INFO", "server")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v
		}
	}
	t.Fatalf("INFO server has no redis_version:\n%s", info)
	return ""
}

// checkErr checks err's text (see errText) against want, a Redis 7.0 text:
// all of it on Redis 7.0, or with prefix set, its start; only its first
// word on other versions.
func checkErr(t *testing.T, version, what string, err error, want string, prefix bool) {
	t.Helper()
	got := errText(err)
	t.Logf("%s: %s", what, got)
	if !strings.HasPrefix(version, "7.0.") {
		if code, _, _ := strings.Cut(want, " "); !strings.HasPrefix(got, code+" ") {
			t.Errorf("%s: got %q, want code %s", what, got, code)
		}
		return
	}
	if got != want && !(prefix && strings.HasPrefix(got, want)) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// waitBusy polls PING on c until the server answers BUSY, and returns the
// error.
func waitBusy(t *testing.T, c *redis.Client) error {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := c.Ping(ctx).Err()
		if redis.HasErrorPrefix(err, "BUSY") {
			return err
		}
		if time.Now().After(deadline) {
			t.Fatalf("no BUSY reply within 5s; last PING: %v", err)
		}
		time.Sleep(pollInterval)
	}
}

func TestErrTextBusyScript(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := Start(t)
	s.Config(t, "busy-reply-threshold", "100")
	v := serverVersion(t, s)
	runner, other := s.Client(t), s.Client(t)

	checkErr(t, v, "SCRIPT KILL, nothing running", other.ScriptKill(ctx).Err(),
		"NOTBUSY No scripts in execution right now.", false)
	checkErr(t, v, "FUNCTION KILL, nothing running", other.FunctionKill(ctx).Err(),
		"NOTBUSY No scripts in execution right now.", false)

	// A read-only script past busy-reply-threshold: others get BUSY, and
	// SCRIPT KILL stops it.
	done := make(chan error, 1)
	go func() { done <- runner.Eval(ctx, spinLua, nil, 5_000_000).Err() }()
	checkErr(t, v, "PING during a long EVAL", waitBusy(t, other),
		"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.", false)
	checkErr(t, v, "FUNCTION KILL during a long EVAL", other.FunctionKill(ctx).Err(),
		"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.", false)
	if err := other.ScriptKill(ctx).Err(); err != nil {
		t.Fatalf("SCRIPT KILL: %v", err)
	}
	checkErr(t, v, "EVAL killed by SCRIPT KILL", <-done,
		"ERR Script killed by user with SCRIPT KILL... script: <sha>, on @user_script:", true)

	// A script that wrote cannot be killed: it runs to its end.
	go func() {
		done <- runner.Eval(ctx, "redis.call('SET', KEYS[1], 'x')\n"+spinLua, []string{"errtext:busy"}, 500_000).Err()
	}()
	waitBusy(t, other)
	checkErr(t, v, "SCRIPT KILL after a write", other.ScriptKill(ctx).Err(),
		"UNKILLABLE Sorry the script already executed write commands against the dataset. "+
			"You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.", false)
	if err := <-done; err != nil {
		t.Errorf("unkillable EVAL: %v, want it to finish", err)
	}

	// The same for a function.
	if err := other.FunctionLoad(ctx, spinLibrary).Err(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- runner.FCall(ctx, "spin", nil, 5_000_000).Err() }()
	checkErr(t, v, "PING during a long FCALL", waitBusy(t, other),
		"BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.", false)
	checkErr(t, v, "SCRIPT KILL during a long FCALL", other.ScriptKill(ctx).Err(),
		"BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.", false)
	if err := other.FunctionKill(ctx).Err(); err != nil {
		t.Fatalf("FUNCTION KILL: %v", err)
	}
	checkErr(t, v, "FCALL killed by FUNCTION KILL", <-done,
		"ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:", true)
}

func TestErrTextOOM(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := Start(t)
	v := serverVersion(t, s)
	c := s.Client(t)
	if err := c.FunctionLoad(ctx, spinLibrary).Err(); err != nil {
		t.Fatal(err)
	}
	s.Config(t, "maxmemory", "1", "maxmemory-policy", "noeviction")

	checkErr(t, v, "SET", c.Set(ctx, "errtext:oom", "v", 0).Err(),
		"OOM command not allowed when used memory > 'maxmemory'.", false)
	checkErr(t, v, "EVAL of a script that writes", c.Eval(ctx, "return redis.call('SET', KEYS[1], 'v')", []string{"errtext:oom"}).Err(),
		"OOM command not allowed when used memory > 'maxmemory'. script: <sha>, on @user_script:1.", false)
	checkErr(t, v, "EVAL of a #!lua script that reads", c.Eval(ctx, "#!lua\nreturn redis.call('GET', KEYS[1])", []string{"errtext:oom"}).Err(),
		"OOM command not allowed when used memory > 'maxmemory'.", false)
	checkErr(t, v, "FCALL of a function without flags", c.FCall(ctx, "spin", nil, 1).Err(),
		"OOM command not allowed when used memory > 'maxmemory'.", false)
	if err := c.Eval(ctx, "return redis.call('GET', KEYS[1])", []string{"errtext:oom"}).Err(); err != redis.Nil {
		t.Errorf("EVAL of a script that reads: %v, want redis.Nil", err)
	}
	if err := c.EvalRO(ctx, "return redis.call('GET', KEYS[1])", []string{"errtext:oom"}).Err(); err != redis.Nil {
		t.Errorf("EVAL_RO: %v, want redis.Nil", err)
	}
}
