package rediserr

import (
	"strings"
	"testing"
)

const sha = "bd8f411e87a11451539448b57a1b90e2a9d6f90e"

// The texts below were copied from Redis 7.0.15 and miniredis v2.40 replies.
func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Reply
	}{
		{"redis nonexistent global",
			"ERR user_script:3: Script attempted to access nonexistent global variable 'x' script: " + sha + ", on @user_script:3.",
			Reply{Kind: KindRuntime, Line: 3, SHA: sha, Message: "attempted to access nonexistent global variable 'x'"}},
		{"redis error()",
			"ERR user_script:2: boom script: " + sha + ", on @user_script:2.",
			Reply{Kind: KindRuntime, Line: 2, SHA: sha, Message: "boom"}},
		{"redis error table keeps its code",
			"MYCODE msg script: " + sha + ", on @user_script:2.",
			Reply{Kind: KindRuntime, Line: 2, SHA: sha, Message: "MYCODE msg"}},
		{"redis failing redis.call",
			"ERR value is not an integer or out of range script: " + sha + ", on @user_script:1.",
			Reply{Kind: KindRuntime, Line: 1, SHA: sha, Message: "value is not an integer or out of range"}},
		{"redis write in read-only script",
			"ERR Write commands are not allowed from read-only scripts. script: " + sha + ", on @user_script:2.",
			Reply{Kind: KindReadOnly, Line: 2, SHA: sha, Message: "Write commands are not allowed from read-only scripts."}},
		{"redis OOM while running",
			"OOM command not allowed when used memory > 'maxmemory'. script: " + sha + ", on @user_script:1.",
			Reply{Kind: KindOOM, Line: 1, SHA: sha, Message: "OOM command not allowed when used memory > 'maxmemory'."}},
		{"redis global write",
			"ERR user_script:1: Attempt to modify a readonly table script: " + sha + ", on @user_script:1.",
			Reply{Kind: KindRuntime, Line: 1, SHA: sha, Message: "Attempt to modify a readonly table"}},
		{"redis WRONGTYPE from a redis.call",
			"WRONGTYPE Operation against a key holding the wrong kind of value script: " + sha + ", on @user_script:1.",
			Reply{Kind: KindWrongType, Line: 1, SHA: sha, Message: "WRONGTYPE Operation against a key holding the wrong kind of value"}},
		{"WRONGTYPE returned with error_reply passes untouched",
			"WRONGTYPE Operation against a key holding the wrong kind of value",
			Reply{Kind: KindOther, Message: "WRONGTYPE Operation against a key holding the wrong kind of value"}},
		{"redis compile error",
			"ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'",
			Reply{Kind: KindSyntax, Line: 1, Message: "unexpected symbol near '<eof>'"}},
		{"redis OOM before start",
			"OOM command not allowed when used memory > 'maxmemory'.",
			Reply{Kind: KindOOM, Message: "OOM command not allowed when used memory > 'maxmemory'."}},
		{"redis busy",
			"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
			Reply{Kind: KindBusy, Message: "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."}},
		{"noscript", "NOSCRIPT No matching script. Please use EVAL.",
			Reply{Kind: KindNoScript, Message: "NOSCRIPT No matching script. Please use EVAL."}},
		{"noscript of older kvrocks", "ERR NOSCRIPT No matching script. Please use EVAL",
			Reply{Kind: KindNoScript, Message: "ERR NOSCRIPT No matching script. Please use EVAL"}},
		{"noscript as the caller's data in a script's reply", "ERR invalid quantity NOSCRIPT",
			Reply{Kind: KindOther, Message: "ERR invalid quantity NOSCRIPT"}},
		{"noscript behind a prefix no server sends", "ERR upstream: NOSCRIPT No matching script. Please use EVAL.",
			Reply{Kind: KindOther, Message: "ERR upstream: NOSCRIPT No matching script. Please use EVAL."}},
		{"a longer word is not the code", "NOSCRIPTED x", Reply{Kind: KindOther, Message: "NOSCRIPTED x"}},
		{"crossslot", "CROSSSLOT Keys in request don't hash to the same slot",
			Reply{Kind: KindCrossSlot, Message: "CROSSSLOT Keys in request don't hash to the same slot"}},
		{"error_reply passes untouched", "MYERR msg", Reply{Kind: KindOther, Message: "MYERR msg"}},
		{"redis ACL: command refused inside a script",
			"ERR The user executing the script can't run this command or subcommand script: " + sha + ", on @user_script:1.",
			Reply{Kind: KindNoPerm, Line: 1, SHA: sha, Message: "The user executing the script can't run this command or subcommand"}},
		{"redis ACL: key refused inside a script",
			"ERR The user executing the script can't access at least one of the keys mentioned in the command arguments script: " + sha + ", on @user_script:2.",
			Reply{Kind: KindNoPerm, Line: 2, SHA: sha, Message: "The user executing the script can't access at least one of the keys mentioned in the command arguments"}},
		{"noperm", "NOPERM this user has no permissions to access one of the keys used as arguments",
			Reply{Kind: KindNoPerm, Message: "NOPERM this user has no permissions to access one of the keys used as arguments"}},
		{"miniredis nonexistent global",
			"ERR Error compiling script (new function): :16: Script attempted to access nonexistent global variable 'x' stack traceback:  [G]: in function 'error'  :16: in function <:14>  :3: in main chunk  [G]: ?",
			Reply{Kind: KindRuntime, Line: 3, Message: "attempted to access nonexistent global variable 'x'"}},
		{"miniredis error()",
			"ERR Error compiling script (new function): :2: boom stack traceback:  [G]: in function 'error'  :2: in main chunk  [G]: ?",
			Reply{Kind: KindRuntime, Line: 2, Message: "boom"}},
		{"miniredis failing redis.call",
			"ERR Error compiling script (new function): :1: ERR value is not an integer or out of range stack traceback:  [G]: in function 'call'  :1: in main chunk  [G]: ?",
			Reply{Kind: KindRuntime, Line: 1, Message: "value is not an integer or out of range"}},
		{"miniredis write in read-only script",
			"ERR Error compiling script (new function): :2: Write commands are not allowed in read-only scripts stack traceback:  [G]: in function 'call'  :2: in main chunk  [G]: ?",
			Reply{Kind: KindReadOnly, Line: 2, Message: "Write commands are not allowed in read-only scripts"}},
		{"miniredis unknown command",
			"ERR Error compiling script (new function): :1: Unknown Redis command called from script script: 19965f96bed2e953a3424cfa591695dc2a3e81db, &c. stack traceback:  [G]: in function 'call'  :1: in main chunk  [G]: ?",
			Reply{Kind: KindRuntime, Line: 1, Message: "Unknown Redis command called from script"}},
		{"miniredis error in nested function",
			"ERR Error compiling script (new function): :2: attempt to index a non-table object(nil) with key 'b' stack traceback:  :2: in main chunk  [G]: ?",
			Reply{Kind: KindRuntime, Line: 2, Message: "attempt to index a non-table object(nil) with key 'b'"}},
		{"miniredis syntax error with position",
			"ERR Error compiling script (new function): <string> line:1(column:1) near '#':   syntax error ",
			Reply{Kind: KindSyntax, Line: 1, Column: 1, Message: "syntax error near '#'"}},
		{"miniredis syntax error at EOF",
			"ERR Error compiling script (new function): <string> at EOF:   syntax error ",
			Reply{Kind: KindSyntax, Message: "syntax error at end of script"}},
		{"suffix with a bad sha is not a suffix",
			"ERR boom script: nothex, on @user_script:1.",
			Reply{Kind: KindOther, Message: "ERR boom script: nothex, on @user_script:1."}},
		{"empty", "", Reply{Kind: KindOther}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Parse(tt.in); got != tt.want {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

// A script that raised an error proves it ran: its reply must never read as
// NOSCRIPT, or the caller would run the script a second time.
func TestParseNoScriptOnlyWithoutScriptSuffix(t *testing.T) {
	msg := "ERR user_script:1: NOSCRIPT lookalike script: " + sha + ", on @user_script:1."
	if got := Parse(msg).Kind; got != KindRuntime {
		t.Errorf("Kind = %v, want KindRuntime", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"ERR user_script:3: x script: " + sha + ", on @user_script:3.",
		"ERR Error compiling script (new function): user_script:1: y",
		"ERR Error compiling script (new function): :2: boom stack traceback:  :2: in main chunk",
		"ERR Error compiling script (new function): <string> line:1(column:1) near '#':   syntax error ",
		"NOSCRIPT No matching script.", "BUSY x", "OOM y", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		r := Parse(msg)
		if r.Line < 0 || r.Column < 0 {
			t.Fatalf("negative position in %+v", r)
		}
		if r.SHA != "" && !isSHA(r.SHA) {
			t.Fatalf("SHA %q is not a SHA1", r.SHA)
		}
		if r.Kind == KindOther && r.Message != msg {
			t.Fatalf("unrecognised reply changed: %q -> %q", msg, r.Message)
		}
		if r.Kind == KindNoScript && strings.Contains(msg, suffixOn) && r.SHA != "" {
			t.Fatalf("reply of a script that ran read as NOSCRIPT: %q", msg)
		}
		if r.Kind == KindNoScript && !strings.HasPrefix(strings.TrimPrefix(msg, "ERR "), "NOSCRIPT") {
			t.Fatalf("reply read as NOSCRIPT without the error code first: %q", msg)
		}
	})
}

// TestParseFunction checks the replies of Redis 7.0.15 to FCALL.
func TestParseFunction(t *testing.T) {
	tests := []struct {
		msg  string
		want Reply
	}{
		{"ERR user_function:6: boom script: g, on @user_function:6.",
			Reply{Kind: KindRuntime, Line: 6, Function: "g", Message: "boom"}},
		{"ERR user_function:11: Script attempted to access nonexistent global variable 'KEYS' script: k, on @user_function:11.",
			Reply{Kind: KindRuntime, Line: 11, Function: "k", Message: "Script attempted to access nonexistent global variable 'KEYS'"}},
		{"ERR Function not found", Reply{Kind: KindNoFunction, Message: "ERR Function not found"}},
		{"ERR Function not found here", Reply{Kind: KindOther, Message: "ERR Function not found here"}},
		{"Function not found", Reply{Kind: KindOther, Message: "Function not found"}},
	}
	for _, tt := range tests {
		if got := Parse(tt.msg); got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.msg, got, tt.want)
		}
	}
}
