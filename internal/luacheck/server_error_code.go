package luacheck

import (
	"fmt"
	"strings"

	"github.com/yuin/gopher-lua/ast"
)

// A script's error reply reaches the client as the server's own replies
// do, and clients read its first word as the server's error code: an
// error reply that starts with a code the server uses for a refusal can be
// taken for that refusal, so that the client sends the script again or
// sends it elsewhere, although it ran.

// serverCodes are the error codes, and error texts, that make clients
// (go-redis, redislua) send a command again or elsewhere, with why.
var serverCodes = []struct{ prefix, why string }{
	{"MOVED", "cluster clients take it for a redirection to another node"},
	{"ASK", "cluster clients take it for a redirection to another node"},
	{"READONLY", "clients take it for a replica's refusal and send the script again"},
	{"LOADING", "clients take it for a server still loading and send the script again"},
	{"TRYAGAIN", "clients take it for a slot in migration and send the script again"},
	{"CLUSTERDOWN", "clients take it for a cluster down and send the script again"},
	{"MASTERDOWN", "clients take it for a replica cut off from its master and send the script again"},
	{"NOREPLICAS", "clients take it for missing replicas and send the script again"},
	{"ERR max number of clients reached", "clients take it for a full server and send the script again"},
	{"NOSCRIPT", "clients take it for a script missing from the cache and send it again with EVAL"},
	{"ERR NOSCRIPT", "clients take it for a script missing from the cache and send it again with EVAL"},
	{"ERR Function not found", "Function.Call takes it for a library missing from the server, loads it and calls again"},
	{"BUSY", "callers take it for another script running, and that this one did not run"},
}

// checkErrorReply checks redis.error_reply(s).
func (c *checker) checkErrorReply(e *ast.FuncCallExpr) {
	get, ok := e.Func.(*ast.AttrGetExpr)
	if !ok || len(e.Args) == 0 || c.origin(get.Object) != fromRedis {
		return
	}
	if k, ok := get.Key.(*ast.StringExpr); ok && k.Value == "error_reply" {
		c.checkErrorText(e.Args[0])
	}
}

// checkErrorTable checks the err field of a table constructor, as in
// return {err = s} and error({err = s}).
func (c *checker) checkErrorTable(e *ast.TableExpr) {
	for _, f := range e.Fields {
		if k, ok := f.Key.(*ast.StringExpr); ok && k.Value == "err" {
			c.checkErrorText(f.Value)
		}
	}
}

// checkErrorText reports an error text whose start, a string literal, is
// a code of serverCodes.
func (c *checker) checkErrorText(e ast.Expr) {
	for {
		concat, ok := e.(*ast.StringConcatOpExpr)
		if !ok {
			break
		}
		e = concat.Lhs
	}
	lit, ok := e.(*ast.StringExpr)
	if !ok {
		return
	}
	for _, sc := range serverCodes {
		rest, found := strings.CutPrefix(lit.Value, sc.prefix)
		if found && (rest == "" || rest[0] == ' ') {
			fix := "start it with a code of your own, such as ERR"
			if strings.HasPrefix(sc.prefix, "ERR ") {
				fix = "reword it"
			}
			c.report(lit.Line(), c.cols[lit], IDServerErrorCode, fmt.Sprintf(
				"error reply starting with %s: %s; %s", sc.prefix, sc.why, fix))
			return
		}
	}
}
