//go:build unix

package redislua

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Through os.DirFS, fs.Stat follows a symbolic link: a link to a regular
// file is read, a link to /dev/zero or a named pipe is refused unread,
// whether it is a script or an include.
func TestLinksAndPipesOnDisk(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("lib.txt", "local function one() return 1 end\n")
	write("main.lua", "--- @include \"lib.txt\"\nreturn one()\n")
	write("viazero.lua", "--- @include \"zero.txt\"\nreturn 1\n")
	write("viapipe.lua", "--- @include \"pipe.txt\"\nreturn 1\n")
	for link, target := range map[string]string{"linked.lua": "main.lua", "zero.lua": "/dev/zero", "zero.txt": "/dev/zero"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"pipe.lua", "pipe.txt"} {
		if err := syscall.Mkfifo(filepath.Join(dir, name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := NewRegistry(os.DirFS(dir), nil)
	for _, want := range []string{
		"pipe.lua is not a regular file (named pipe)",
		"zero.lua is not a regular file (device)",
		`viazero.lua:1: syntax error: cannot include "zero.txt": zero.txt is not a regular file (device)`,
		`viapipe.lua:1: syntax error: cannot include "pipe.txt": pipe.txt is not a regular file (named pipe)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err lacks %q:\n%v", want, err)
		}
	}
	if n := len(strings.Split(err.Error(), "\n")); n != 4 {
		t.Errorf("%d errors, want 4:\n%v", n, err)
	}
	if errors.Is(err, ErrSyntax) != true {
		t.Errorf("errors.Is(err, ErrSyntax) = false")
	}
}
