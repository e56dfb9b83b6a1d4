package rediserr

import (
	"strconv"
	"strings"
)

// MaxSlot is the highest Redis Cluster hash slot.
const MaxSlot = 16383

// Redirect reads a MOVED or ASK reply in the one form Redis Cluster sends
// it, "MOVED 3999 127.0.0.1:6381" (cluster.c, clusterRedirectClient:
// "-%s %d %s:%d" with the code, the slot, the node's endpoint and port).
// ok is false for any other text, such as "MOVED doc locked".
func Redirect(msg string) (code string, slot int, addr string, ok bool) {
	code, rest, _ := strings.Cut(msg, " ")
	if code != "MOVED" && code != "ASK" {
		return "", 0, "", false
	}
	slotText, addr, _ := strings.Cut(rest, " ")
	slot, okSlot := decimal(slotText, MaxSlot)
	host, port, _ := cutLast(addr, ':')
	if _, okPort := decimal(port, 65535); !okSlot || !okPort || host == "" || strings.ContainsAny(addr, " \t\r\n") {
		return "", 0, "", false
	}
	return code, slot, addr, true
}

// decimal parses s as an integer from 0 to max written as %d writes it:
// digits only, no leading zero.
func decimal(s string, max int) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0 && n <= max && strconv.Itoa(n) == s
}

// cutLast cuts s around the last sep.
func cutLast(s string, sep byte) (before, after string, found bool) {
	i := strings.LastIndexByte(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}
