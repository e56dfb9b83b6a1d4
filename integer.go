package redislua

import "errors"

// ErrNotInteger means a key that must hold a decimal integer (a lock's
// fence counter) holds something else.
var ErrNotInteger = errors.New("redislua: value is not an integer")
