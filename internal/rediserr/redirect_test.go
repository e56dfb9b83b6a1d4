package rediserr

import (
	"fmt"
	"testing"
)

func TestRedirect(t *testing.T) {
	tests := []struct {
		in   string
		code string
		slot int
		addr string
		ok   bool
	}{
		{"MOVED 3999 127.0.0.1:6381", "MOVED", 3999, "127.0.0.1:6381", true},
		{"ASK 0 10.0.0.7:7000", "ASK", 0, "10.0.0.7:7000", true},
		{"MOVED 16383 redis-2.example:6379", "MOVED", 16383, "redis-2.example:6379", true},
		{"MOVED 12 ::1:7001", "MOVED", 12, "::1:7001", true}, // Redis prints an IPv6 endpoint bare
		{"MOVED 16384 127.0.0.1:6381", "", 0, "", false},     // no such slot
		{"MOVED 01 127.0.0.1:6381", "", 0, "", false},        // %d writes no leading zero
		{"MOVED -1 127.0.0.1:6381", "", 0, "", false},
		{"MOVED 1 127.0.0.1:0x1", "", 0, "", false},
		{"MOVED 1 127.0.0.1:65536", "", 0, "", false},
		{"MOVED 1 127.0.0.1", "", 0, "", false},
		{"MOVED 1 :6379", "", 0, "", false},
		{"MOVED 1 127.0.0.1:6379 trailing", "", 0, "", false},
		{"MOVED doc locked", "", 0, "", false},
		{"MOVED", "", 0, "", false},
		{"moved 1 127.0.0.1:6379", "", 0, "", false},
		{"READONLY You can't write against a read only replica.", "", 0, "", false},
		{"", "", 0, "", false},
	}
	for _, tt := range tests {
		code, slot, addr, ok := Redirect(tt.in)
		if code != tt.code || slot != tt.slot || addr != tt.addr || ok != tt.ok {
			t.Errorf("Redirect(%q) = %q, %d, %q, %v; want %q, %d, %q, %v",
				tt.in, code, slot, addr, ok, tt.code, tt.slot, tt.addr, tt.ok)
		}
	}
}

// A reply read as a redirection is exactly the text Redis would write for it.
func FuzzRedirect(f *testing.F) {
	for _, s := range []string{"MOVED 3999 127.0.0.1:6381", "ASK 1 h:1", "MOVED 1 a b:1", "MOVED x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		code, slot, addr, ok := Redirect(msg)
		if !ok {
			return
		}
		if got := fmt.Sprintf("%s %d %s", code, slot, addr); got != msg || slot < 0 || slot > MaxSlot {
			t.Fatalf("Redirect(%q) = %q, %d, %q", msg, code, slot, addr)
		}
	})
}
