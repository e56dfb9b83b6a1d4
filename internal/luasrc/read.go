package luasrc

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
)

var (
	// ErrTooLarge means a file, or a script with its includes, is longer
	// than the limit it was read with.
	ErrTooLarge = errors.New("too large")
	// ErrNotRegular means a path names a directory, a named pipe, a device,
	// a socket or another file that is not regular. Such files are not
	// opened: a pipe blocks until a writer comes, a device may never end.
	ErrNotRegular = errors.New("not a regular file")
)

// ReadFile reads the regular file name of fsys, or fails with ErrTooLarge
// after at most limit+1 bytes. Whatever it is not is refused with
// ErrNotRegular before it is opened; fs.Stat decides, and through
// os.DirFS it follows a symbolic link, so the link's target must be
// regular. (A file swapped for a pipe between the check and the open
// still blocks: fs.FS has no non-blocking open.)
func ReadFile(fsys fs.FS, name string, limit int) ([]byte, error) {
	info, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if err := checkRegular(name, info); err != nil {
		return nil, err
	}
	if info.Size() > int64(limit) {
		return nil, tooLarge(name, limit)
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil {
		if err := checkRegular(name, info); err != nil {
			return nil, err
		}
	}
	// The size is a hint (a file may grow, some report 0): read until EOF,
	// never more than limit+1 bytes.
	buf := make([]byte, 0, min(info.Size(), int64(limit))+1)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, max(len(buf), 512))
		}
		n, err := f.Read(buf[len(buf):min(cap(buf), limit+1)])
		buf = buf[:len(buf)+n]
		switch {
		case len(buf) > limit:
			return nil, tooLarge(name, limit)
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return nil, err
		}
	}
}

func tooLarge(name string, limit int) error {
	return fmt.Errorf("%s is %w: more than %d bytes", name, ErrTooLarge, limit)
}

func checkRegular(name string, info fs.FileInfo) error {
	mode := info.Mode()
	if mode.IsRegular() {
		return nil
	}
	kind := "irregular file"
	switch {
	case mode.IsDir():
		kind = "directory"
	case mode&fs.ModeNamedPipe != 0:
		kind = "named pipe"
	case mode&fs.ModeDevice != 0:
		kind = "device"
	case mode&fs.ModeSocket != 0:
		kind = "socket"
	case mode&fs.ModeSymlink != 0:
		kind = "symbolic link"
	}
	return fmt.Errorf("%s is %w (%s)", name, ErrNotRegular, kind)
}
