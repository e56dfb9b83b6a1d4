package redislua

import (
	"errors"
	"log/slog"
)

// LogValue gives log/slog the error as a group of its parts, so that a
// log line names the script, file and line as fields:
//
//	error.msg="redislua: lua/transfer.lua:3: ..." error.script=transfer.lua error.file=lua/transfer.lua error.line=3
func (e *ScriptError) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("msg", e.Error()),
		slog.String("script", e.Script),
		slog.String("file", e.File),
		slog.Int("line", e.Line),
		slog.String("sha", e.SHA),
	)
}

// LogValue gives log/slog the error as a group of its parts: message,
// script, file, line and column.
func (e *SyntaxError) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("msg", e.Error()),
		slog.String("script", e.Script),
		slog.String("file", e.File),
		slog.Int("line", e.Line),
		slog.Int("column", e.Column),
	)
}

// ErrorAttr returns err as a log/slog attribute named "error". When err
// wraps a *ScriptError or *SyntaxError, as the errors of the prebuilt
// packages do, the attribute is a group with the whole message (msg) and
// the script, file and line as fields; otherwise it is err's message. A
// nil err gives an empty attribute, which slog leaves out.
//
//	logger.Error("transfer failed", redislua.ErrorAttr(err))
func ErrorAttr(err error) slog.Attr {
	if err == nil {
		return slog.Attr{}
	}
	var se *ScriptError
	if errors.As(err, &se) {
		return slog.Attr{Key: "error", Value: withMsg(se.LogValue(), err)}
	}
	var sy *SyntaxError
	if errors.As(err, &sy) {
		return slog.Attr{Key: "error", Value: withMsg(sy.LogValue(), err)}
	}
	return slog.String("error", err.Error())
}

// withMsg replaces the msg of group v with the text of err, which wraps
// the error v was made from and says more.
func withMsg(v slog.Value, err error) slog.Value {
	attrs := v.Group()
	attrs[0] = slog.String("msg", err.Error())
	return slog.GroupValue(attrs...)
}
