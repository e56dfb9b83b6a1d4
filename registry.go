package redislua

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/luasrc"
	"github.com/redislua/redislua/internal/rediserr"
)

// Registry holds named scripts, read from an fs.FS (usually an embed.FS)
// and added one by one. Lookups take no lock; it is safe for concurrent use.
type Registry struct {
	cfg     config
	mu      sync.Mutex // serialises Add
	current atomic.Pointer[table]
}

// table is an immutable snapshot of a registry's scripts. Add replaces it.
type table struct {
	byName map[string]*Script
	bySHA  map[string][]*Script // several when scripts share a source
	names  []string             // sorted

	// Function libraries, read by NewRegistry only.
	libs      map[string]*Library
	libNames  []string // sorted
	functions map[string]*Function
	folded    map[string]*Function // by lower-case name: Redis ignores case
}

// NewRegistry reads every *.lua file under fsys (recursively), parses and
// hashes each once, and returns a registry of them. A script's name is its
// path in fsys without ".lua": "lock/acquire.lua" is "lock/acquire". It
// depends on that path alone, never on the other files fsys holds, so
// adding a directory to an embed renames nothing. To name scripts from
// inside a directory of an embed, pass that directory with fs.Sub:
//
//	//go:embed lua
//	var files embed.FS
//
//	scripts, err := fs.Sub(files, "lua") // lua/transfer.lua is "transfer"
//	reg, err := redislua.NewRegistry(scripts, nil)
//
// Errors and findings name files by the same paths ("transfer.lua:3"). A
// nil fsys gives an empty registry for Add.
//
// A file that another file includes ("--- @include "lib/util"") is a
// library inlined into its includers, not a script of its own. An include
// cycle is a *SyntaxError naming the include line that closes it and the
// chain ("b.lua:3: include cycle: a.lua -> b.lua -> a.lua"), also when no
// script includes its files.
//
// Only regular files are read (through os.DirFS, a symbolic link's target
// must be one): a named pipe or a device is an error, never opened. No
// file is read past MaxScriptSize+1 bytes, nor a script's includes past
// MaxScriptSize in all. A file whose name ErrInvalidName refuses is an
// error too. Two files cannot share a name, since a name is a path; an
// fs.FS that lists one file twice is an error (ErrDuplicateScript) naming
// the file.
//
// Every problem is reported, not just the first: the error joins (with
// errors.Join) one error per bad file, each naming its file.
func NewRegistry(fsys fs.FS, opts *RegistryOptions) (*Registry, error) {
	r := &Registry{cfg: opts.config()}
	t := &table{byName: map[string]*Script{}, bySHA: map[string][]*Script{}}
	if fsys == nil {
		r.current.Store(t)
		return r, nil
	}
	files, err := luaFiles(fsys)
	if err != nil {
		return nil, err
	}
	sources := make(map[string]string, len(files))
	var errs []error
	for _, file := range files {
		src, err := luasrc.ReadFile(fsys, file, MaxScriptSize)
		switch {
		case errors.Is(err, luasrc.ErrTooLarge):
			errs = append(errs, fmt.Errorf("%w: %s is more than %d bytes", ErrScriptTooLarge, file, MaxScriptSize))
		case errors.Is(err, luasrc.ErrNotRegular):
			errs = append(errs, fmt.Errorf("redislua: %w", err))
		case err != nil:
			errs = append(errs, fmt.Errorf("redislua: reading %s: %w", file, err))
		default:
			sources[file] = string(src)
		}
	}
	libraries, cycles := luasrc.Libraries(sources)
	for _, c := range cycles {
		errs = append(errs, &SyntaxError{Script: scriptName(c.File), File: c.File, Line: c.Line, Message: c.Message})
	}
	for _, file := range files {
		src, ok := sources[file]
		if !ok || libraries[file] {
			continue
		}
		if luasrc.IsFunctionLibrary(src) {
			errs = append(errs, t.addLibrary(file, src, r.cfg, fsys)...)
			continue
		}
		s, err := newScript(scriptName(file), file, src, r.cfg, fsys)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if old, dup := t.byName[s.name]; dup { // an fs.FS listing a file twice
			errs = append(errs, duplicate(s.name, old.file, file))
			continue
		}
		t.add(s)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	t.sortNames()
	r.current.Store(t)
	return r, nil
}

// addLibrary reads the function library in file and adds it, unless its
// name or one of its functions' names is taken: function names are
// global on a Redis server, which compares them without case.
func (t *table) addLibrary(file, src string, cfg config, fsys fs.FS) []error {
	l, err := newLibrary(file, src, cfg, fsys)
	if err != nil {
		return []error{err}
	}
	if t.libs == nil {
		t.libs, t.functions, t.folded = map[string]*Library{}, map[string]*Function{}, map[string]*Function{}
	}
	if old, dup := t.libs[l.name]; dup {
		return []error{fmt.Errorf("%w: function library %q: %s and %s", ErrDuplicateScript, l.name, old.file, file)}
	}
	var errs []error
	for _, f := range l.functions {
		if old, dup := t.folded[strings.ToLower(f.name)]; dup {
			errs = append(errs, fmt.Errorf("%w: function %q is registered by %s (library %s) and %s (library %s); function names are global on a Redis server",
				ErrDuplicateScript, f.name, old.lib.file, old.lib.name, file, l.name))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	for _, f := range l.functions {
		t.functions[f.name] = f
		t.folded[strings.ToLower(f.name)] = f
	}
	t.libs[l.name] = l
	t.libNames = append(t.libNames, l.name)
	sort.Strings(t.libNames)
	return nil
}

// luaFiles lists the *.lua files of fsys, in lexical order.
func luaFiles(fsys fs.FS) ([]string, error) {
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && path.Ext(p) == ".lua" {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redislua: listing scripts: %w", err)
	}
	return files, nil
}

// scriptName is the name of the script read from file, a path in the
// registry's fs.FS: the path without ".lua", nothing else.
func scriptName(file string) string { return strings.TrimSuffix(file, ".lua") }

// duplicate is the error for a second script called name; file is where
// the first came from.
func duplicate(name, file, again string) error {
	if again == "" {
		return fmt.Errorf("%w: %q (already read from %s)", ErrDuplicateScript, name, file)
	}
	return fmt.Errorf("%w: %q: %s and %s", ErrDuplicateScript, name, file, again)
}

func (t *table) add(s *Script) {
	t.byName[s.name] = s
	t.bySHA[s.sha] = append(t.bySHA[s.sha], s)
	t.names = append(t.names, s.name)
}

func (t *table) sortNames() { sort.Strings(t.names) }

func (t *table) clone() *table {
	c := &table{
		byName: make(map[string]*Script, len(t.byName)+1),
		bySHA:  make(map[string][]*Script, len(t.bySHA)+1),
		names:  append(make([]string, 0, len(t.names)+1), t.names...),

		libs: t.libs, libNames: t.libNames, functions: t.functions, // never changed after NewRegistry
	}
	for k, v := range t.byName {
		c.byName[k] = v
	}
	for k, v := range t.bySHA {
		c.bySHA[k] = v[:len(v):len(v)] // add copies it before appending
	}
	return c
}

// Add parses src as a script named name and adds it. A name already in the
// registry is an error (ErrDuplicateScript), as is everything NewScript
// refuses: an empty name (ErrEmptyName), or one that is not a
// slash-separated path or holds a control character, a line break or a
// path element of only white space (ErrInvalidName). A source that another
// script already has is allowed; see MapError.
func (r *Registry) Add(name, src string) (*Script, error) {
	s, err := newScript(name, name, src, r.cfg, nil)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.scripts()
	if prev, dup := old.byName[name]; dup {
		return nil, duplicate(name, prev.file, "")
	}
	t := old.clone()
	t.add(s)
	t.sortNames()
	r.current.Store(t)
	return s, nil
}

func (r *Registry) scripts() *table {
	if t := r.current.Load(); t != nil {
		return t
	}
	return &table{} // the zero Registry is empty
}

// Script returns the script called name. An unknown name is an error that
// wraps ErrUnknownScript and suggests close names.
func (r *Registry) Script(name string) (*Script, error) {
	t := r.scripts()
	if s, ok := t.byName[name]; ok {
		return s, nil
	}
	return nil, unknownScript(name, t.names)
}

// MustScript is like Script but panics for an unknown name. Use it where
// the name is a constant that tests cover.
func (r *Registry) MustScript(name string) *Script {
	s, err := r.Script(name)
	if err != nil {
		panic(err)
	}
	return s
}

// Scripts returns every script, sorted by name.
func (r *Registry) Scripts() []*Script {
	t := r.scripts()
	out := make([]*Script, len(t.names))
	for i, name := range t.names {
		out[i] = t.byName[name]
	}
	return out
}

// Warnings returns the static-check warnings of every script, sorted by
// script name then line (see Finding), then those of every function
// library, by library name.
func (r *Registry) Warnings() []Finding {
	var out []Finding
	for _, s := range r.Scripts() {
		out = append(out, s.warnings...)
	}
	for _, l := range r.Libraries() {
		out = append(out, l.warnings...)
	}
	return out
}

// Libraries returns every function library, sorted by name.
func (r *Registry) Libraries() []*Library {
	t := r.scripts()
	out := make([]*Library, len(t.libNames))
	for i, name := range t.libNames {
		out[i] = t.libs[name]
	}
	return out
}

// Library returns the function library called name (the name its first
// line gives). An unknown name is an error that wraps ErrUnknownScript.
func (r *Registry) Library(name string) (*Library, error) {
	t := r.scripts()
	if l, ok := t.libs[name]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("%w: function library %q", ErrUnknownScript, name)
}

// Function returns the function called name, from whichever library
// registers it (function names are global on a Redis server, and
// NewRegistry refuses two libraries that register one name). An unknown
// name is an error that wraps ErrUnknownScript.
func (r *Registry) Function(name string) (*Function, error) {
	t := r.scripts()
	if f, ok := t.functions[name]; ok {
		return f, nil
	}
	return nil, fmt.Errorf("%w: function %q", ErrUnknownScript, name)
}

// Run runs the script called name; see Script.Run. An unknown name is an
// error on the returned command, and nothing is sent.
func (r *Registry) Run(ctx context.Context, c redis.Scripter, name string, keys []string, args ...any) *redis.Cmd {
	s, err := r.Script(name)
	if err != nil {
		return failedCmd(ctx, name, err)
	}
	return s.Run(ctx, c, keys, args...)
}

// LoadAll loads every script into the server's cache with one round trip
// (pipelined SCRIPT LOADs), so the first calls after start-up need no
// fallback. On a *redis.ClusterClient it does so on every master and
// replica, one round trip per node, and hooks each node against scripts'
// redirect replies as Run does. Every failure is reported, each naming its
// script (and node).
//
// It then loads every function library with Library.Load (nil options:
// a library the server holds with other code is a *LibraryConflictError).
// Inside a pipeline, libraries cannot be loaded (ErrPipeline): load them
// before queueing calls, since a pipelined Function.Call is not re-sent.
func (r *Registry) LoadAll(ctx context.Context, c redis.Scripter) error {
	if isNilClient(c) {
		return fmt.Errorf("%w: loading scripts", ErrNilClient)
	}
	c = clientOf(c)
	err := r.loadScripts(ctx, c)
	var errs []error
	for _, l := range r.Libraries() {
		errs = append(errs, l.Load(ctx, c, nil))
	}
	return errors.Join(append([]error{err}, errs...)...)
}

// loadScripts is LoadAll for scripts.
func (r *Registry) loadScripts(ctx context.Context, c redis.Scripter) error {
	scripts := r.Scripts()
	if len(scripts) == 0 {
		return nil
	}
	switch c := c.(type) {
	case *redis.ClusterClient:
		return eachNode(ctx, c, func(ctx context.Context, node *redis.Client) error {
			return loadPipelined(ctx, node.Pipeline(), scripts)
		})
	case redis.Pipeliner:
		for _, s := range scripts {
			c.ScriptLoad(ctx, s.src.Text) // results arrive with the caller's Exec
		}
		return nil
	case interface{ Pipeline() redis.Pipeliner }:
		return loadPipelined(ctx, c.Pipeline(), scripts)
	}
	var errs []error
	for _, s := range scripts {
		errs = append(errs, s.Load(ctx, c))
	}
	return errors.Join(errs...)
}

// loadPipelined sends one SCRIPT LOAD per script in one pipeline and checks
// every reply.
func loadPipelined(ctx context.Context, pipe redis.Pipeliner, scripts []*Script) error {
	cmds := make([]*redis.StringCmd, len(scripts))
	for i, s := range scripts {
		cmds[i] = pipe.ScriptLoad(ctx, s.src.Text)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	var errs []error
	for i, s := range scripts {
		if err := s.checkLoaded(cmds[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// MapError turns a raw server error from one of the registry's scripts
// (such as the error of a command queued by Run in a pipeline) into a
// *ScriptError, finding the script by the SHA1 that Redis names in the
// error. Errors it cannot attribute come back unchanged.
//
// Scripts with the same source have the same SHA1, and the error names
// nothing else: when several of the registry's scripts have it, MapError
// returns an *AmbiguousScriptError naming them all, never one of them. The
// error's own Script.MapError maps it right, as Run does: prefer them when
// the script is known.
func (r *Registry) MapError(err error) error {
	var rerr redis.Error
	var amb *AmbiguousScriptError
	if err == nil || !errors.As(err, &rerr) || isMapped(err) || errors.As(err, &amb) {
		return err
	}
	parsed := rediserr.Parse(rerr.Error())
	scripts := r.scripts().bySHA[parsed.SHA]
	switch len(scripts) {
	case 0:
		return err
	case 1:
		return scripts[0].mapError(err)
	}
	return ambiguous(scripts, err, parsed.Line)
}

// AmbiguousScriptError is an error from a script whose source several
// scripts of a registry share, as Registry.MapError returns it: Redis names
// the SHA1 of the source, not the script, so which one ran is unknown.
// File and Line are set when the line Redis names is the same line of the
// same file in all of them (a file they all include); otherwise File is
// empty and Line is the line of the shared source. errors.Is matches the
// sentinel for the error's kind, as for a *ScriptError; Unwrap returns the
// server's error, which the right Script's MapError maps to a *ScriptError.
type AmbiguousScriptError struct {
	// Scripts are the names of the scripts with this source, sorted.
	Scripts []string
	// SHA is the SHA1 of their source.
	SHA string
	// File and Line locate the error when all the scripts agree on where
	// it is; else File is "" and Line is the line of the shared source.
	File string
	Line int
	// Message is the server's message without Redis's wrapping.
	Message string

	kind error
	err  error
}

// Error reads "redislua: <file>:<line>: <message> (script a or b: same
// source)", or "redislua: script a or b (same source), line <n>: <message>"
// when the file is not known.
func (e *AmbiguousScriptError) Error() string {
	who := "script " + strings.Join(e.Scripts, " or ")
	switch {
	case e.File != "":
		return fmt.Sprintf("redislua: %s:%d: %s (%s: same source)", e.File, e.Line, e.Message, who)
	case e.Line > 0:
		return fmt.Sprintf("redislua: %s (same source), line %d: %s", who, e.Line, e.Message)
	}
	return fmt.Sprintf("redislua: %s (same source): %s", who, e.Message)
}

// Unwrap returns the server's original error.
func (e *AmbiguousScriptError) Unwrap() error { return e.err }

// Is reports whether target is the sentinel for this error's kind.
func (e *AmbiguousScriptError) Is(target error) bool { return e.kind != nil && target == e.kind }

// ambiguous maps err, from a source that scripts share, without picking
// one of them; line is the line of the source that Redis names.
func ambiguous(scripts []*Script, err error, line int) error {
	e := &AmbiguousScriptError{SHA: scripts[0].sha}
	for i, s := range scripts {
		var se *ScriptError
		if !errors.As(s.mapError(err), &se) {
			return err // not an error mapError maps
		}
		if i == 0 {
			e.File, e.Line, e.Message, e.kind, e.err = se.File, se.Line, se.Message, se.kind, err
		} else if se.File != e.File || se.Line != e.Line {
			e.File, e.Line = "", line
		}
		e.Scripts = append(e.Scripts, s.name)
	}
	sort.Strings(e.Scripts)
	return e
}
