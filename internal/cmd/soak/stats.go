package main

import (
	"regexp"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// op is one kind of operation the workers run.
type op int

const (
	opTransfer  op = iota // transfer.MoveOnce
	opAcquire             // Lock.Acquire
	opFencedSet           // cas.FencedSet of the counter under the lock
	opRelease             // Lock.Release
	opLockTTL             // Lock.TTL, to check the lock is still held
	opAllow               // ratelimit.Limiter.Allow
	opCAS                 // cas.Swap
	opPipeline            // a pipeline of incr scripts, plain or MULTI/EXEC
	opGet                 // plain GETs that read what the scripts wrote
	opProbe               // the probe that times recovery after a fault
	numOps
)

var opNames = [numOps]string{
	"transfer.MoveOnce", "Lock.Acquire", "cas.FencedSet", "Lock.Release", "Lock.TTL",
	"Allow", "cas.Swap", "pipeline(8)", "GET", "probe",
}

func (o op) String() string { return opNames[o] }

// latencyBuckets are the upper bounds of the latency histogram: 50µs
// doubling up to about 26 s. Percentiles are reported as the bound of
// their bucket, so they are accurate to a factor of two.
var latencyBuckets = func() []time.Duration {
	b := make([]time.Duration, 20)
	d := 50 * time.Microsecond
	for i := range b {
		b[i] = d
		d *= 2
	}
	return b
}()

// opStats counts the calls of one operation. Its methods are safe for
// concurrent use.
type opStats struct {
	ok      atomic.Int64
	errs    [numClasses]atomic.Int64
	hist    [21]atomic.Int64 // len(latencyBuckets)+1: the last is "above"
	maxNano atomic.Int64
}

// done records a call that took d and ended with err.
func (s *opStats) done(d time.Duration, err error, samples *errorSamples) {
	i := sort.Search(len(latencyBuckets), func(i int) bool { return latencyBuckets[i] >= d })
	s.hist[i].Add(1)
	for {
		m := s.maxNano.Load()
		if int64(d) <= m || s.maxNano.CompareAndSwap(m, int64(d)) {
			break
		}
	}
	if err == nil {
		s.ok.Add(1)
		return
	}
	c := classify(err)
	s.errs[c].Add(1)
	samples.add(c, err)
}

// percentile returns the bucket bound under which a fraction p of the
// recorded calls took, or the longest call if that is shorter.
func (s *opStats) percentile(p float64) time.Duration {
	return min(s.bucketPercentile(p), time.Duration(s.maxNano.Load()))
}

func (s *opStats) bucketPercentile(p float64) time.Duration {
	var total int64
	for i := range s.hist {
		total += s.hist[i].Load()
	}
	if total == 0 {
		return 0
	}
	want := int64(p*float64(total) + 0.5)
	var n int64
	for i := range s.hist {
		n += s.hist[i].Load()
		if n >= want && n > 0 {
			if i == len(latencyBuckets) {
				return time.Duration(s.maxNano.Load())
			}
			return latencyBuckets[i]
		}
	}
	return time.Duration(s.maxNano.Load())
}

func (s *opStats) errorCount() int64 {
	var n int64
	for i := range s.errs {
		n += s.errs[i].Load()
	}
	return n
}

// errorSamples keeps a few distinct messages of each class, with counts,
// so that the report shows what the errors were. Digits are folded, so
// that messages differing only in ports or counts share a line.
type errorSamples struct {
	mu   sync.Mutex
	msgs [numClasses]map[string]int64
}

const maxSamples = 6

var digits = regexp.MustCompile(`[0-9]+`)

func (e *errorSamples) add(c class, err error) {
	msg := digits.ReplaceAllString(err.Error(), "N")
	if len(msg) > 160 {
		msg = msg[:160] + "..."
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.msgs[c] == nil {
		e.msgs[c] = make(map[string]int64)
	}
	if _, ok := e.msgs[c][msg]; ok || len(e.msgs[c]) < maxSamples {
		e.msgs[c][msg]++
	}
}

// sample is one message of a class and how often it was seen.
type sample struct {
	class class
	msg   string
	n     int64
}

// list returns the samples, most frequent first within each class.
func (e *errorSamples) list() []sample {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []sample
	for c, m := range e.msgs {
		start := len(out)
		for msg, n := range m {
			out = append(out, sample{class(c), msg, n})
		}
		part := out[start:]
		sort.Slice(part, func(i, j int) bool {
			if part[i].n != part[j].n {
				return part[i].n > part[j].n
			}
			return part[i].msg < part[j].msg
		})
	}
	return out
}

// counters count outcomes that are not errors (a transfer applied, a
// lock not acquired under contention...) by name. They are safe for
// concurrent use.
type counters struct {
	mu sync.Mutex
	m  map[string]int64
}

func (c *counters) add(name string, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]int64)
	}
	c.m[name] += n
}

func (c *counters) get(name string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[name]
}

// names returns the counters' names, sorted.
func (c *counters) names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := make([]string, 0, len(c.m))
	for n := range c.m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
