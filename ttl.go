package redislua

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ErrInvalidTTL means a time to live is negative, or positive but under
// one millisecond, the smallest Redis keeps.
var ErrInvalidTTL = errors.New("redislua: invalid TTL")

// ttlMillis returns d in whole milliseconds (rounded down) as a decimal
// string, for PX. d must be at least one millisecond.
func ttlMillis(d time.Duration) (string, error) {
	if d < time.Millisecond {
		return "", fmt.Errorf("%w: %v is below 1ms", ErrInvalidTTL, d)
	}
	return strconv.FormatInt(d.Milliseconds(), 10), nil
}
