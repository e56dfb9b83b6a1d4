// Package rediserr reads the text of the error replies that Redis and miniredis
// send for scripts: what kind of failure it was, which line of the script
// failed, and which script (by SHA1) it was.
//
// It is pure text processing: the root package turns a [Reply] into the
// errors users see. Every format handled here is listed, with an example, in
// the tests.
package rediserr

import (
	"strconv"
	"strings"
)

// Kind says what an error reply means for the caller.
type Kind int

const (
	// KindOther is any reply this package does not recognise, including
	// errors a script returns on purpose with redis.error_reply. Such replies
	// are the script's own API and must reach the caller untouched.
	KindOther Kind = iota
	// KindRuntime is an error raised while the script ran: error(), a
	// nonexistent global, a failing redis.call, SCRIPT KILL.
	KindRuntime
	// KindSyntax is a compile error: the script never ran.
	KindSyntax
	// KindNoScript is NOSCRIPT: EVALSHA named a script the server does not
	// have, so the script did not run. Only a reply that starts with the
	// error code (see isNoScript) is NOSCRIPT, and never one that carries
	// the suffix of an error raised while a script ran.
	KindNoScript
	// KindBusy is BUSY: another script runs past the busy threshold.
	KindBusy
	// KindOOM is a write refused because maxmemory is reached.
	KindOOM
	// KindNoPerm is an ACL refusal.
	KindNoPerm
	// KindReadOnly is a write command called from a read-only script.
	KindReadOnly
	// KindCrossSlot is CROSSSLOT: a cluster node refused keys of several
	// slots.
	KindCrossSlot
	// KindWrongType is WRONGTYPE raised by a command the script called on
	// a key of another type. A bare WRONGTYPE reply (one a script returned
	// with redis.error_reply) stays KindOther.
	KindWrongType
	// KindNoFunction is Redis 7's "ERR Function not found": FCALL named a
	// function the server does not have, so nothing ran. Only that exact
	// reply is KindNoFunction.
	KindNoFunction
)

// Reply is what Parse read from one error reply.
type Reply struct {
	Kind Kind
	// Line is the 1-based line of the script the error points at, 0 when
	// the reply names no line.
	Line int
	// Column is the 1-based column of a syntax error, when the server says
	// it (miniredis does, Redis does not); otherwise 0.
	Column int
	// SHA is the script's SHA1 when the reply names it, otherwise "".
	SHA string
	// Function is the function's name when the reply is an error raised
	// while a Redis function ran, otherwise "".
	Function string
	// Message is the human part of the reply, with the wrapping that the
	// server adds (error code, "user_script:N:", suffix) removed.
	Message string
}

const (
	compilePrefix = "ERR Error compiling script (new function): "
	suffixScript  = " script: "
	suffixOn      = ", on @user_script:"
	userScript    = "user_script:"
	traceback     = " stack traceback:"
	// Redis 7 functions: "ERR user_function:6: boom script: g, on
	// @user_function:6." names the function, not a SHA1.
	suffixOnFunction = ", on @user_function:"
	userFunction     = "user_function:"
	noFunction       = "ERR Function not found"
)

// Parse reads an error reply's text. It never fails: text it does not
// recognise comes back as KindOther with the text as Message.
func Parse(msg string) Reply {
	if body, sha, line, ok := cutScriptSuffix(msg); ok {
		return parseRuntime(body, sha, line)
	}
	if body, fn, line, ok := cutFunctionSuffix(msg); ok {
		r := parseRuntime(body, "", line)
		if l, rest, found := cutLinePrefix(r.Message, userFunction); found {
			r.Line, r.Message = l, rest
		}
		r.Function = fn
		return r
	}
	if msg == noFunction {
		return Reply{Kind: KindNoFunction, Message: msg}
	}
	if rest, ok := strings.CutPrefix(msg, compilePrefix); ok {
		if i := strings.Index(rest, traceback); i >= 0 {
			return parseMiniredisRuntime(rest[:i], rest[i+len(traceback):])
		}
		return parseSyntax(rest)
	}
	r := Reply{Kind: classify(msg), Message: msg}
	if r.Kind == KindOther && isNoScript(msg) {
		r.Kind = KindNoScript
	}
	return r
}

// isNoScript recognises the NOSCRIPT replies that servers send, and no
// text that merely contains the word, as a script's own reply may with its
// caller's data. Two forms are known: the error code NOSCRIPT, which Redis
// (server.c, shared.noscripterr: "NOSCRIPT No matching script. Please use
// EVAL."), Dragonfly (kScriptNotFound), miniredis and Kvrocks send; and
// "ERR NOSCRIPT No matching script. Please use EVAL", which older Kvrocks
// sent (its errNoMatchingScript behind its "ERR " prefix; the scripting
// tests of apache/incubator-kvrocks expect "ERR NOSCRIPT.*").
func isNoScript(msg string) bool {
	msg = strings.TrimPrefix(msg, "ERR ")
	return msg == "NOSCRIPT" || strings.HasPrefix(msg, "NOSCRIPT ")
}

// cutScriptSuffix splits Redis 7's " script: <sha>, on @user_script:<line>."
// suffix, which every error raised while a script runs carries.
func cutScriptSuffix(msg string) (body, sha string, line int, ok bool) {
	i := strings.LastIndex(msg, suffixScript)
	if i < 0 || !strings.HasSuffix(msg, ".") {
		return "", "", 0, false
	}
	sha, rest, found := strings.Cut(msg[i+len(suffixScript):], suffixOn)
	if !found || !isSHA(sha) {
		return "", "", 0, false
	}
	line, err := strconv.Atoi(strings.TrimSuffix(rest, "."))
	if err != nil || line < 0 {
		return "", "", 0, false
	}
	return msg[:i], sha, line, true
}

// cutFunctionSuffix splits Redis 7's " script: <function>, on
// @user_function:<line>." suffix, which every error raised while a
// function runs carries.
func cutFunctionSuffix(msg string) (body, fn string, line int, ok bool) {
	i := strings.LastIndex(msg, suffixScript)
	if i < 0 || !strings.HasSuffix(msg, ".") {
		return "", "", 0, false
	}
	fn, rest, found := strings.Cut(msg[i+len(suffixScript):], suffixOnFunction)
	if !found || fn == "" || strings.ContainsAny(fn, " ,") {
		return "", "", 0, false
	}
	line, err := strconv.Atoi(strings.TrimSuffix(rest, "."))
	if err != nil || line < 0 {
		return "", "", 0, false
	}
	return msg[:i], fn, line, true
}

// parseRuntime reads the body of a Redis error raised while a script ran:
// "ERR user_script:3: Script attempted ...", "ERR value is not an integer",
// "OOM command not allowed ...", or the "CODE msg" of error({err=...}).
func parseRuntime(body, sha string, suffixLine int) Reply {
	r := Reply{Kind: classifyRuntime(body), SHA: sha, Line: suffixLine}
	msg := body
	if rest, ok := strings.CutPrefix(msg, "ERR "); ok {
		msg = rest
	}
	if line, rest, ok := cutLinePrefix(msg, userScript); ok {
		r.Line, msg = line, rest
	}
	r.Message = tidy(msg)
	return r
}

// parseMiniredisRuntime reads miniredis's runtime errors, which it reports
// as compile errors with a gopher-lua stack traceback:
// ":16: Script attempted to access nonexistent global variable 'x'" then
// "[G]: in function 'error'  :16: in function <:14>  :3: in main chunk".
func parseMiniredisRuntime(head, trace string) Reply {
	head = strings.TrimSpace(head)
	r := Reply{Kind: KindRuntime}
	line, msg, ok := cutLinePrefix(head, "")
	if !ok {
		msg = head
	}
	if rest, found := strings.CutPrefix(msg, "ERR "); found {
		msg = rest
	}
	if i := strings.Index(msg, suffixScript); i >= 0 {
		msg = msg[:i] // miniredis appends " script: <sha>, &c." to some errors
	}
	frames := traceLines(trace)
	if strings.HasPrefix(msg, "Script attempted to") && len(frames) > 1 {
		// The first frame is miniredis's own sandbox code, not the script.
		line = frames[1]
	} else if !ok && len(frames) > 0 {
		line = frames[0]
	}
	r.Line = line
	r.Kind = classifyRuntime(msg)
	r.Message = tidy(msg)
	return r
}

// traceLines returns the line numbers of the script's frames in a
// gopher-lua traceback, innermost first; "[G]" (Go) frames are skipped.
func traceLines(trace string) []int {
	var lines []int
	for _, field := range strings.Fields(trace) {
		if !strings.HasPrefix(field, ":") || !strings.HasSuffix(field, ":") || len(field) < 3 {
			continue
		}
		if n, err := strconv.Atoi(field[1 : len(field)-1]); err == nil && n > 0 {
			lines = append(lines, n)
		}
	}
	return lines
}

// parseSyntax reads a compile error, from Redis ("user_script:1: unexpected
// symbol near '<eof>'") or from miniredis's gopher-lua ("<string>
// line:1(column:1) near '#':   syntax error", "<string> at EOF:   syntax error").
func parseSyntax(rest string) Reply {
	r := Reply{Kind: KindSyntax}
	if line, msg, ok := cutLinePrefix(rest, userScript); ok {
		r.Line, r.Message = line, tidy(msg)
		return r
	}
	rest = strings.TrimPrefix(rest, "<string> ")
	if msg, ok := strings.CutPrefix(rest, "at EOF:"); ok {
		r.Message = tidy(msg) + " at end of script"
		return r
	}
	if after, ok := strings.CutPrefix(rest, "line:"); ok {
		lineText, after, _ := strings.Cut(after, "(column:")
		colText, after, _ := strings.Cut(after, ")")
		r.Line, _ = strconv.Atoi(lineText)
		r.Column, _ = strconv.Atoi(colText)
		near, msg, found := strings.Cut(after, ":")
		if !found {
			msg, near = near, ""
		}
		r.Message = tidy(msg)
		if near = strings.TrimSpace(near); near != "" {
			r.Message += " " + near
		}
		return r
	}
	r.Message = tidy(rest)
	return r
}

// cutLinePrefix cuts "<prefix><digits>: " from the start of s.
func cutLinePrefix(s, prefix string) (line int, rest string, ok bool) {
	after, found := strings.CutPrefix(s, prefix)
	if !found {
		return 0, s, false
	}
	if prefix == "" {
		after, found = strings.CutPrefix(after, ":")
		if !found {
			return 0, s, false
		}
	}
	digits, rest, found := strings.Cut(after, ":")
	if !found {
		return 0, s, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 {
		return 0, s, false
	}
	return n, strings.TrimPrefix(rest, " "), true
}

// classify recognises the server conditions a caller can act on.
func classify(msg string) Kind {
	switch {
	case strings.HasPrefix(msg, "BUSY"):
		return KindBusy
	case strings.HasPrefix(msg, "OOM"):
		return KindOOM
	case strings.HasPrefix(msg, "CROSSSLOT"):
		return KindCrossSlot
	case strings.HasPrefix(msg, "NOPERM"),
		strings.Contains(msg, "can't run this command"),
		strings.Contains(msg, "can't access at least one of the keys"),
		strings.Contains(msg, "No permissions to access"):
		return KindNoPerm
	case strings.Contains(msg, "Write commands are not allowed"):
		return KindReadOnly
	}
	return KindOther
}

// classifyRuntime is classify for an error raised while a script ran:
// also WRONGTYPE, and KindRuntime for anything else.
func classifyRuntime(msg string) Kind {
	if k := classify(msg); k != KindOther {
		return k
	}
	if strings.HasPrefix(msg, "WRONGTYPE") {
		return KindWrongType
	}
	return KindRuntime
}

// tidy trims the message and drops the "Script " that Redis puts before
// "attempted to access nonexistent global variable".
func tidy(msg string) string {
	msg = strings.TrimSpace(msg)
	if rest, ok := strings.CutPrefix(msg, "Script attempted"); ok {
		return "attempted" + rest
	}
	return msg
}

func isSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
