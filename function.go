package redislua

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/luacheck"
	"github.com/redislua/redislua/internal/luasrc"
	"github.com/redislua/redislua/internal/rediserr"
)

// Library is a Redis Functions library (Redis 7 and later): a file whose
// first line is "#!lua name=<library>", loaded with FUNCTION LOAD rather
// than run with EVAL. NewRegistry reads which functions it registers
// (redis.register_function at the top level of the file, with a literal
// name) without running it, and runs the same static checks as for
// scripts; in a function, KEYS and ARGV are the callback's parameters, not
// globals. A Library is immutable and safe for concurrent use.
type Library struct {
	name      string
	file      string
	src       *luasrc.Source // after @include expansion: the code sent
	functions []*Function
	warnings  []Finding
}

// Function is one function of a Library, called by name with FCALL, or
// FCALL_RO when it has the no-writes flag.
type Function struct {
	name        string
	lib         *Library
	flags       []string
	readOnly    bool
	crossSlotOK bool
	checkSlots  bool
	nameArg     any    // the name boxed once, as a command argument
	qualified   string // "library.function", as errors and observers name it
}

// Name returns the library's name, from its first line.
func (l *Library) Name() string { return l.name }

// File returns the file the library was read from; errors name it.
func (l *Library) File() string { return l.file }

// Source returns the exact code FUNCTION LOAD sends.
func (l *Library) Source() string { return l.src.Text }

// Functions returns the library's functions, in the order it registers
// them.
func (l *Library) Functions() []*Function { return append([]*Function(nil), l.functions...) }

// Warnings returns what the static checks found that does not stop the
// library from loading.
func (l *Library) Warnings() []Finding { return append([]Finding(nil), l.warnings...) }

// Name returns the function's name.
func (f *Function) Name() string { return f.name }

// Library returns the library that registers the function.
func (f *Function) Library() *Library { return f.lib }

// Flags returns the flags the function registers with, in order.
func (f *Function) Flags() []string { return append([]string(nil), f.flags...) }

// ReadOnly reports whether the function has the no-writes flag, and so is
// called with FCALL_RO (which replicas accept).
func (f *Function) ReadOnly() bool { return f.readOnly }

// newLibrary builds the library in file (a path in fsys), whose library
// name its first line gives.
func newLibrary(file, text string, cfg config, fsys fs.FS) (*Library, error) {
	syntaxErr := func(at luasrc.Loc, col int, msg string) error {
		return &SyntaxError{Script: file, File: at.File, Line: at.Line, Column: col, Message: msg}
	}
	top := luasrc.Loc{File: file, Line: 1}
	name, err := luasrc.ParseFunctionShebang(text)
	if err != nil {
		return nil, syntaxErr(top, 1, err.Error())
	}
	if len(text) > MaxScriptSize {
		return nil, fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrScriptTooLarge, file, len(text), MaxScriptSize)
	}
	src, err := luasrc.Expand(fsys, file, text, MaxScriptSize)
	if err != nil {
		var ie *luasrc.IncludeError
		switch {
		case errors.Is(err, luasrc.ErrTooLarge):
			return nil, fmt.Errorf("%w: %v", ErrScriptTooLarge, err)
		case errors.As(err, &ie):
			return nil, syntaxErr(ie.Loc, 0, ie.Message)
		}
		return nil, syntaxErr(top, 0, err.Error())
	}
	var regs []luacheck.Registration
	warnings, err := lintWith(name, src, cfg, func(text string) ([]luacheck.Finding, error) {
		var found []luacheck.Finding
		var err error
		regs, found, err = luacheck.CheckLibrary(text, luacheck.Config{})
		return found, err
	})
	if err != nil {
		return nil, err
	}
	l := &Library{name: name, file: file, src: src, warnings: warnings}
	for _, r := range regs {
		f := &Function{
			name:        r.Name,
			lib:         l,
			flags:       r.Flags,
			readOnly:    hasFlag(r.Flags, luasrc.FlagNoWrites),
			crossSlotOK: hasFlag(r.Flags, luasrc.FlagAllowCrossSlotKeys),
			checkSlots:  cfg.clusterChecks,
			nameArg:     r.Name,
			qualified:   l.name + "." + r.Name,
		}
		l.functions = append(l.functions, f)
	}
	return l, nil
}

func hasFlag(flags []string, flag string) bool {
	for _, f := range flags {
		if f == flag {
			return true
		}
	}
	return false
}

// Call calls the function with keys and args and returns go-redis's
// *redis.Cmd. It sends FCALL (FCALL_RO for a no-writes function), with the
// checks Run makes before sending: a nil client, empty keys, and on a
// *redis.ClusterClient (or with RegistryOptions.ClusterChecks) keys of
// several slots. If the server answers "ERR Function not found", which
// proves nothing ran (a new node, FUNCTION FLUSH, a restart without
// persistence), Call loads the library there, as Load does (on a
// *redis.ClusterClient, on the master of the first key, or on every master
// for a call without keys), and sends the call once more; again if the
// library went missing once more in between (another client's FUNCTION
// FLUSH), up to 32 loads per Call. No other error causes another send: a
// function whose outcome is unknown is never run twice. A function's own reply that looks like a cluster redirection is
// not followed, as for Run.
//
// Inside a pipeline or transaction Call queues the FCALL and nothing is
// re-sent: load the libraries first (Registry.LoadAll). The queued
// command's error is the server's raw error.
//
// Errors raised while the function ran are a *ScriptError naming the
// library's file and line; errors.Is matches ErrBusy, ErrOOM, ErrNoPerm,
// ErrReadOnly, ErrCrossSlot as for scripts. A server without Functions
// (miniredis, Redis before 7) gives an error matching
// ErrFunctionsUnsupported.
func (f *Function) Call(ctx context.Context, c redis.Scripter, keys []string, args ...any) *redis.Cmd {
	return f.call(ctx, c, keys, args, nil) // inlined: Call adds no frame (see process)
}

// callObserved is Call on a client with observer o.
func (f *Function) callObserved(ctx context.Context, o Observer, c redis.Scripter, keys []string, args []any) *redis.Cmd {
	command := "FCALL"
	if f.readOnly {
		command = "FCALL_RO"
	}
	call := newCall(Call{Name: f.qualified, Command: command, Addr: clientAddr(c), Keys: len(keys), Start: time.Now()})
	ctx = startCall(ctx, o, call)
	cmd := f.call(ctx, c, keys, args, call)
	endCall(ctx, o, call, cmd.Err())
	return cmd
}

// maxReloads bounds how many times one Call loads the library again: a
// library deleted again and again (a FUNCTION FLUSH every few
// milliseconds on a busy server goes between half the loads and their
// calls), or a replica that never gets it, cannot keep a Call going.
const maxReloads = 32

// call is Call, observed by obs when it is not nil; with a nil obs, it
// starts the call of c's observer, if any. As Script.run does, it sends
// the FCALL from its own small frame (see process).
func (f *Function) call(ctx context.Context, c redis.Scripter, keys []string, args []any, obs *Call) *redis.Cmd {
	if obs == nil && observedClients.Load() != 0 {
		if o := observerOf(c); o != nil {
			return f.callObserved(ctx, o, c, keys, args)
		}
	}
	cmd, ended := f.prepare(ctx, c, keys, args, obs)
	if cmd == nil {
		return ended
	}
	ap, batched := c.(*redis.AutoPipeliner)
	switch {
	case !batched:
		_ = c.(processor).Process(ctx, cmd) // the error is on cmd
	case direct(ctx, ap, cmd):
		_ = ap.Process(ctx, cmd)
	case !process(ctx, c, cmd):
		return failedFcall(ctx, f.name, contextError(ctx))
	}
	return f.after(ctx, c, keys, args, obs, cmd.result())
}

// prepare checks a call of call and builds its FCALL (FCALL_RO). A call
// that ends here returns its result instead: misuse, a pipeline (which
// queues the FCALL), a cluster whose nodes cannot be listed, and a client
// without Process or a lone struct argument.
func (f *Function) prepare(ctx context.Context, c redis.Scripter, keys []string, args []any, obs *Call) (*onceCmd, *redis.Cmd) {
	if err := f.checkCall(c, keys); err != nil {
		return nil, failedFcall(ctx, f.name, err)
	}
	if p, ok := c.(redis.Pipeliner); ok {
		return nil, f.send(ctx, p, keys, args, nil)
	}
	if cc, ok := clientOf(c).(*redis.ClusterClient); ok {
		if err := guardCluster(ctx, cc); err != nil {
			return nil, failedFcall(ctx, f.name, fmt.Errorf("redislua: calling function %s: listing the cluster's nodes: %w", f.name, err))
		}
	}
	if _, ok := c.(processor); ok {
		if flat, known := flatArgs(args); known {
			return f.command(ctx, c, keys, flat, obs), nil
		}
	}
	return nil, f.send(ctx, c, keys, args, obs) // its error
}

// after is call once the FCALL has its reply: the reloads of the library
// while the server answers that the function is not found, and the
// mapping of errors.
func (f *Function) after(ctx context.Context, c redis.Scripter, keys []string, args []any, obs *Call, cmd *redis.Cmd) *redis.Cmd {
	// The library can go again between the load and the call (another
	// client's FUNCTION FLUSH): each "not found" proves nothing ran. The
	// call after a load goes straight to the client, not into an
	// AutoPipeliner's next batch, to keep that window short.
	for reloads := 0; isNoFunction(cmd.Err()) && reloads < maxReloads; reloads++ {
		if obs != nil && obs.FallbackAt.IsZero() {
			obs.FallbackAt = time.Now()
		}
		if err := f.lib.reload(ctx, c, keys); err != nil {
			cmd.SetErr(fmt.Errorf("redislua: function %s not found on the server; loading library %s again: %w", f.name, f.lib.name, err))
			return cmd
		}
		cmd = f.send(ctx, clientOf(c), keys, args, obs)
	}
	if err := cmd.Err(); err != nil {
		if mapped := f.mapError(err); mapped != err {
			cmd.SetErr(mapped)
		} else if ctxErr := contextError(ctx); ctxErr != nil && !errors.Is(err, ctxErr) {
			cmd.SetErr(fmt.Errorf("%w: %w", ctxErr, err))
		}
	}
	return cmd
}

func (f *Function) checkCall(c redis.Scripter, keys []string) error {
	if isNilClient(c) {
		return fmt.Errorf("%w: calling function %s", ErrNilClient, f.name)
	}
	for i, k := range keys {
		if k == "" {
			return fmt.Errorf("%w: key %d of function %s", ErrEmptyKey, i+1, f.name)
		}
	}
	if (f.checkSlots || isCluster(c)) && !f.crossSlotOK && CheckSlots(keys...) != nil {
		return newCrossSlotError(f.name, keys)
	}
	return nil
}

// Command names of Redis functions, as go-redis spells them.
const (
	cmdFcall   = "fcall"
	cmdFcallRO = "fcall_ro"
)

// send sends FCALL (FCALL_RO) through Process, marked NoRetry as Run's
// commands are (see onceCmd); obs, if not nil, is the observed call.
func (f *Function) send(ctx context.Context, c redis.Scripter, keys []string, args []any, obs *Call) *redis.Cmd {
	flat, known := flatArgs(args)
	if _, ok := c.(processor); !ok || !known {
		return failedFcall(ctx, f.name, fmt.Errorf("redislua: calling function %s: the client cannot send commands (no Process method) or an argument is a struct", f.name))
	}
	cmd := f.command(ctx, c, keys, flat, obs)
	if !process(ctx, c, cmd) {
		return failedFcall(ctx, f.name, contextError(ctx))
	}
	return cmd.result()
}

// command builds the FCALL (FCALL_RO) that send sends, with ARGV flat
// (as flatArgs gives it), for c's Process.
func (f *Function) command(ctx context.Context, c redis.Scripter, keys []string, flat []any, obs *Call) *onceCmd {
	cmdArgs := make([]any, 3+len(keys), 3+len(keys)+len(flat))
	// The constants, not a variable holding one: boxing a constant string
	// allocates nothing, boxing a variable allocates its header.
	if f.readOnly {
		cmdArgs[0] = cmdFcallRO
	} else {
		cmdArgs[0] = cmdFcall
	}
	cmdArgs[1] = f.nameArg
	cmdArgs[2] = len(keys)
	for i, key := range keys {
		cmdArgs[3+i] = key
	}
	cmdArgs = append(cmdArgs, flat...)
	cmd := &onceCmd{fn: f, call: obs}
	cmd.Cmd = *redis.NewCmd(ctx, cmdArgs...) // one allocation for both
	if len(keys) > 0 {
		cmd.SetFirstKeyPos(3)
	}
	return cmd
}

// probeHead is the first line of the EVAL probe that stands for a call of
// f (see isNodeRefusal): a shebang with f's flags.
func (f *Function) probeHead() string {
	if len(f.flags) == 0 {
		return "#!lua"
	}
	return "#!lua flags=" + strings.Join(f.flags, ",")
}

// mapError turns an error raised while f ran into a *ScriptError naming
// the library's file and line; a server without Functions into
// ErrFunctionsUnsupported. Other errors come back unchanged.
func (f *Function) mapError(err error) error {
	var rerr redis.Error
	if err == nil || !errors.As(err, &rerr) || isMapped(err) {
		return err
	}
	if isUnsupported(err) {
		return fmt.Errorf("%w: calling function %s: %w", ErrFunctionsUnsupported, f.name, err)
	}
	r := rediserr.Parse(rerr.Error())
	if r.Kind == rediserr.KindOther {
		return err
	}
	at := luasrc.Loc{File: f.lib.file}
	if r.Line > 0 {
		at = f.lib.src.Locate(r.Line)
	}
	return &ScriptError{Script: f.qualified, File: at.File, Line: at.Line, Message: r.Message, kind: kindSentinel(r.Kind), err: err}
}

// failedFcall returns a command that carries err and was never sent.
func failedFcall(ctx context.Context, name string, err error) *redis.Cmd {
	cmd := redis.NewCmd(ctx, cmdFcall, name)
	cmd.SetErr(err)
	return cmd
}

// isNoFunction reports whether err is Redis's "ERR Function not found",
// which proves nothing ran: the only case in which a call is sent again.
func isNoFunction(err error) bool {
	if err == nil {
		return false // before rerr, which escapes: no allocation per call
	}
	var rerr redis.Error
	return errors.As(err, &rerr) && rediserr.Parse(rerr.Error()).Kind == rediserr.KindNoFunction
}

// isUnsupported reports whether err says the server does not know the
// FUNCTION or FCALL commands (miniredis, Redis before 7).
func isUnsupported(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.HasPrefix(msg, "err unknown command") &&
		(strings.Contains(msg, "function") || strings.Contains(msg, "fcall"))
}
