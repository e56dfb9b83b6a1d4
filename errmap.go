package redislua

import (
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/luasrc"
	"github.com/redislua/redislua/internal/rediserr"
)

// mapError turns a server error reply from running s into a *ScriptError
// or *SyntaxError. Anything else (nil, redis.Nil, network and context
// errors, replies the script returned on purpose with redis.error_reply)
// comes back unchanged.
func (s *Script) mapError(err error) error {
	var rerr redis.Error
	if err == nil || !errors.As(err, &rerr) || isMapped(err) {
		return err
	}
	r := rediserr.Parse(rerr.Error())
	if r.Kind == rediserr.KindOther {
		return err
	}
	at := luasrc.Loc{File: s.file}
	if r.Line > 0 {
		at = s.src.Locate(r.Line) // through @include expansion
	}
	if r.Kind == rediserr.KindSyntax {
		return &SyntaxError{Script: s.name, File: at.File, Line: at.Line, Column: r.Column, Message: r.Message, err: err}
	}
	return &ScriptError{
		Script:  s.name,
		File:    at.File,
		SHA:     s.sha,
		Line:    at.Line,
		Message: r.Message,
		kind:    kindSentinel(r.Kind),
		err:     err,
	}
}

func isMapped(err error) bool {
	switch err.(type) {
	case *ScriptError, *SyntaxError:
		return true
	}
	return false
}

func kindSentinel(k rediserr.Kind) error {
	switch k {
	case rediserr.KindNoScript:
		return ErrNoScript
	case rediserr.KindBusy:
		return ErrBusy
	case rediserr.KindOOM:
		return ErrOOM
	case rediserr.KindNoPerm:
		return ErrNoPerm
	case rediserr.KindReadOnly:
		return ErrReadOnly
	case rediserr.KindCrossSlot:
		return ErrCrossSlot
	case rediserr.KindWrongType:
		return ErrWrongType
	}
	return nil
}

// isNoScript reports whether err proves the server did not have the script,
// and so did not run it: the only case in which a script is sent again.
func isNoScript(err error) bool {
	if err == nil {
		return false // before rerr, which errors.As moves to the heap
	}
	var rerr redis.Error
	return errors.As(err, &rerr) && rediserr.Parse(rerr.Error()).Kind == rediserr.KindNoScript
}
