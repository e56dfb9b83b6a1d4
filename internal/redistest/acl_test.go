package redistest

import (
	"context"
	"testing"
)

func TestCreateUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := Start(t)
	v := serverVersion(t, s)
	u := s.CreateUser(t, "app", "secret", "~app:*", "+eval", "+evalsha", "+script|load", "+get", "+set")

	if got, err := u.Do(ctx, "ACL", "WHOAMI").Result(); err == nil {
		t.Errorf("ACL WHOAMI = %v, want NOPERM: the user has only its rules", got)
	}
	script := "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])"
	if got, err := u.Eval(ctx, script, []string{"app:x"}, "v").Result(); err != nil || got != "v" {
		t.Fatalf("EVAL on app:x = %v, %v; want v", got, err)
	}
	sha, err := u.ScriptLoad(ctx, script).Result()
	if err != nil {
		t.Fatalf("SCRIPT LOAD: %v", err)
	}
	if got, err := u.EvalSha(ctx, sha, []string{"app:y"}, "w").Result(); err != nil || got != "w" {
		t.Errorf("EVALSHA on app:y = %v, %v; want w", got, err)
	}

	checkErr(t, v, "EVAL with a key outside the pattern in KEYS",
		u.Eval(ctx, script, []string{"other:x"}, "v").Err(),
		"NOPERM this user has no permissions to access one of the keys used as arguments", false)
	checkErr(t, v, "redis.call on a key outside the pattern",
		u.Eval(ctx, "return redis.call('GET', 'other:x')", []string{"app:x"}).Err(),
		"ERR The user executing the script can't access at least one of the keys mentioned in the command arguments script: <sha>, on @user_script:1.", false)
	checkErr(t, v, "redis.pcall on a key outside the pattern, returned",
		u.Eval(ctx, "return redis.pcall('GET', 'other:x')", []string{"app:x"}).Err(),
		"ERR The user executing the script can't access at least one of the keys mentioned in the command arguments", false)
	checkErr(t, v, "redis.call of a command not allowed",
		u.Eval(ctx, "return redis.call('DEL', KEYS[1])", []string{"app:x"}).Err(),
		"ERR The user executing the script can't run this command or subcommand script: <sha>, on @user_script:1.", false)
	checkErr(t, v, "a command not allowed", u.Del(ctx, "app:x").Err(),
		"NOPERM this user has no permissions to run the 'del' command", false)
	checkErr(t, v, "a subcommand not allowed", u.ScriptFlush(ctx).Err(),
		"NOPERM this user has no permissions to run the 'script|flush' command", false)
	checkErr(t, v, "EVAL_RO not allowed", u.EvalRO(ctx, "return 1", nil).Err(),
		"NOPERM this user has no permissions to run the 'eval_ro' command", false)

	// Redefining the user replaces its rules, and Client as the default
	// user is unaffected.
	u2 := s.CreateUser(t, "app", "secret", "+ping")
	if err := u2.Ping(ctx).Err(); err != nil {
		t.Errorf("PING after redefining the user: %v", err)
	}
	if err := u2.Eval(ctx, "return 1", nil).Err(); err == nil {
		t.Error("EVAL after redefining the user without +eval succeeded")
	}
	if err := s.Client(t).Del(ctx, "app:x").Err(); err != nil {
		t.Errorf("DEL as the default user: %v", err)
	}
}

func TestCreateUserTLS(t *testing.T) {
	t.Parallel()
	s := StartTLS(t, &TLSOptions{MutualTLS: true})
	u := s.CreateUser(t, "tlsuser", "pw", "+ping")
	if err := u.Ping(context.Background()).Err(); err != nil {
		t.Errorf("PING as a user over mutual TLS: %v", err)
	}
}
