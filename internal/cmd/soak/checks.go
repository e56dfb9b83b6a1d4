package main

import (
	"fmt"
	"sync"
)

// The invariants the soak checks, in the order the report lists them.
// Some are checked on every call while the soak runs, others at the end.
const (
	checkNoScript         = "no NOSCRIPT outside plain pipelines"
	checkRecovery         = "calls recover after every fault within -max-recovery"
	checkBalanceSum       = "transfer: every bank's balances add up to the initial total"
	checkLedger           = "transfer: every balance equals the initial one plus the transfers applied (no ID applied twice)"
	checkFreshID          = "transfer: a new ID's first call never finds it applied already"
	checkIDReused         = "transfer: a retried ID is never refused as reused"
	checkResolved         = "transfer: every unknown outcome resolved by retrying its ID"
	checkOneHolder        = "lock: one holder at a time"
	checkFences           = "lock: fences strictly increase from holder to holder"
	checkFencedSet        = "lock: FencedSet never refuses the current holder"
	checkUnderLock        = "lock: nobody else changes the counter under the lock"
	checkNotLostEarly     = "lock: never found lost before its TTL"
	checkLockCounter      = "lock: counter equals the successful critical sections"
	checkCASCounter       = "cas: each counter is between its acknowledged swaps and swaps plus unknown outcomes"
	checkRateReplies      = "ratelimit: replies consistent (Remaining within the limit, RetryAfter set when refused)"
	checkRateBound        = "ratelimit: admitted calls within limit times windows elapsed (plus one)"
	checkPipelineSequence = "pipeline: replies in sequence (no command lost, run twice or reordered)"
)

var allChecks = []string{
	checkNoScript, checkRecovery,
	checkBalanceSum, checkLedger, checkFreshID, checkIDReused, checkResolved,
	checkOneHolder, checkFences, checkFencedSet, checkUnderLock, checkNotLostEarly, checkLockCounter,
	checkCASCounter,
	checkRateReplies, checkRateBound,
	checkPipelineSequence,
}

// violations records failed checks: a count per check and the first few
// messages. It is safe for concurrent use.
type violations struct {
	mu     sync.Mutex
	count  map[string]int64
	msgs   map[string][]string
	passed map[string]string // check -> what was verified, when it ran
}

const maxViolationMsgs = 5

func (v *violations) fail(check, format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.count == nil {
		v.count = make(map[string]int64)
		v.msgs = make(map[string][]string)
	}
	v.count[check]++
	if len(v.msgs[check]) < maxViolationMsgs {
		v.msgs[check] = append(v.msgs[check], fmt.Sprintf(format, args...))
	}
}

// note records what a check verified, for the report.
func (v *violations) note(check, format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.passed == nil {
		v.passed = make(map[string]string)
	}
	v.passed[check] = fmt.Sprintf(format, args...)
}

func (v *violations) failures(check string) (int64, []string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.count[check], v.msgs[check]
}

func (v *violations) detail(check string) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.passed[check]
}

func (v *violations) total() int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	var n int64
	for _, c := range v.count {
		n += c
	}
	return n
}
