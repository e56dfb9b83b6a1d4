package testbackend

// AppUserRules limit an ACL user to keys and channels under app: (which
// cover the keys and channels the prebuilt primitives derive from the
// user's keys, as they begin with them), to the scripting commands, and to
// the data commands the scripts call: Redis 7 checks ACLs for commands
// called inside scripts too.
var AppUserRules = []string{
	"~app:*", "&app:*",
	"+@read", "+@write", "-@dangerous",
	"+eval", "+evalsha", "+eval_ro", "+evalsha_ro", "+script|load", "+script|exists",
	"+publish", "+subscribe", "+unsubscribe", "+time", "+ping",
}

// SharedStatePairs are pairs of user keys that the first key scheme
// ("{k}:suffix" for a key without a hash tag, "k:suffix" for one with)
// sent to shared derived state; tests check that each key of a pair now
// has its own.
var SharedStatePairs = [][2]string{
	{"keys-test:a", "{keys-test:a}"},
	{"{keys-test}b", "{keys-test}:b"},
	{"keys-test:c:fence", "{keys-test:c}"},
	{"keys-test:{d}", "keys-test:{d}:fence"},
	{"{}keys-test:e", "keys-test:e"},                // an empty tag hashes the whole key
	{"keys-test:\x00\xff{", "keys-test:\x00\xff{}"}, // binary; a '{' without a tag
	{"keys-test:f}g", "{keys-test:f}g"},
}
