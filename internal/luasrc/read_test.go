package luasrc

import (
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// endless is an fs.FS of one file, "zero", that reports size 0 and never
// ends, like /dev/zero; it counts the bytes read.
type endless struct{ read int }

func (e *endless) Open(name string) (fs.File, error) {
	if name != "zero" {
		return nil, fs.ErrNotExist
	}
	return endlessFile{e}, nil
}

type endlessFile struct{ e *endless }

func (f endlessFile) Stat() (fs.FileInfo, error) { return fstest.MapFS{"zero": {}}.Stat("zero") }
func (f endlessFile) Close() error               { return nil }
func (f endlessFile) Read(p []byte) (int, error) {
	f.e.read += len(p)
	return len(p), nil
}

func TestReadFile(t *testing.T) {
	fsys := fstest.MapFS{
		"ok.lua":   {Data: []byte("return 1")},
		"big.lua":  {Data: []byte(strings.Repeat("-", 101))},
		"dir":      {Mode: fs.ModeDir},
		"pipe.lua": {Mode: fs.ModeNamedPipe},
		"dev.lua":  {Mode: fs.ModeDevice | fs.ModeCharDevice},
		"sock.lua": {Mode: fs.ModeSocket},
	}
	if data, err := ReadFile(fsys, "ok.lua", 8); err != nil || string(data) != "return 1" {
		t.Errorf("ok.lua = %q, %v", data, err)
	}
	if _, err := ReadFile(fsys, "ok.lua", 7); !errors.Is(err, ErrTooLarge) || err.Error() != "ok.lua is too large: more than 7 bytes" {
		t.Errorf("ok.lua with limit 7: %v", err)
	}
	if _, err := ReadFile(fsys, "big.lua", 100); !errors.Is(err, ErrTooLarge) {
		t.Errorf("big.lua: %v", err)
	}
	for name, kind := range map[string]string{"dir": "directory", "pipe.lua": "named pipe", "dev.lua": "device", "sock.lua": "socket"} {
		if _, err := ReadFile(fsys, name, 100); !errors.Is(err, ErrNotRegular) || err.Error() != name+" is not a regular file ("+kind+")" {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ReadFile(fsys, "missing.lua", 100); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	e := &endless{}
	if _, err := ReadFile(e, "zero", 1<<20); !errors.Is(err, ErrTooLarge) || e.read != 1<<20+1 {
		t.Errorf("endless file: %v after %d bytes, want ErrTooLarge after %d", err, e.read, 1<<20+1)
	}
}

// A reader that returns data and io.EOF together, or one byte at a time,
// is read whole.
func TestReadFileShortReads(t *testing.T) {
	for _, size := range []int{0, 1, 511, 512, 513, 5000} {
		text := strings.Repeat("x", size)
		fsys := fstest.MapFS{"f": {Data: []byte(text)}}
		data, err := ReadFile(oneByte{fsys}, "f", 5000)
		if err != nil || string(data) != text {
			t.Errorf("size %d: got %d bytes, %v", size, len(data), err)
		}
	}
}

type oneByte struct{ fs.FS }

func (o oneByte) Open(name string) (fs.File, error) {
	f, err := o.FS.Open(name)
	return oneByteFile{f}, err
}

type oneByteFile struct{ fs.File }

func (f oneByteFile) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	n, err := f.File.Read(p)
	if err == nil && n == 0 {
		return 0, io.EOF
	}
	return n, err
}
