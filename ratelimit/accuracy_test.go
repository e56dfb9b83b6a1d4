package ratelimit

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"
)

// The sliding-window counter's error, measured against the exact log: both
// see the same arrivals, on a miniredis whose clock the test sets before
// each call, and the most calls each admitted in any window-long interval
// is compared with the limit.

// arrivalPattern is a list of call times from the start of a run, in whole
// microseconds (the server's resolution).
type arrivalPattern struct {
	name string
	at   []time.Duration
	// maxOver is the most calls over the limit the counter may admit in a
	// window-long interval: the bound the package documentation gives for the
	// kind of traffic.
	maxOver int
	// belowLimit is set for evenly spread traffic under the limit, of
	// which both limiters must admit every call.
	belowLimit bool
}

// arrivalPatterns returns the patterns measured, for a run of the given
// number of windows. Rates are in calls per window, as multiples of limit.
func arrivalPatterns(limit int, window time.Duration, windows int) []arrivalPattern {
	span := time.Duration(windows) * window
	every := func(rate float64, from, to time.Duration) []time.Duration {
		step := time.Duration(float64(window) / (rate * float64(limit)))
		var at []time.Duration
		for d := from; d < to; d += step {
			at = append(at, d.Truncate(time.Microsecond))
		}
		return at
	}
	poisson := func(rate float64, seed uint64) []time.Duration {
		r := rand.New(rand.NewPCG(seed, 1))
		mean := float64(window) / (rate * float64(limit))
		var at []time.Duration
		for d := time.Duration(r.ExpFloat64() * mean); d < span; d += time.Duration(r.ExpFloat64() * mean) {
			at = append(at, d.Truncate(time.Microsecond))
		}
		return at
	}
	// The estimate's worst case: a burst at the very end of one fixed
	// window (which it spreads evenly over that window), then steady
	// traffic through the next.
	var burstThenSteady []time.Duration
	for w := 0; w+1 < windows; w += 2 {
		end := time.Duration(w+1) * window
		burstThenSteady = append(burstThenSteady, every(200, end-window/100, end)...)
		burstThenSteady = append(burstThenSteady, every(2, end, end+window)...)
	}
	sqrt := int(math.Ceil(math.Sqrt(float64(limit))))
	return []arrivalPattern{
		{"even-0.9x", every(0.9, 0, span), 1, true},
		{"even-1.1x", every(1.1, 0, span), 1, false},
		{"even-2x", every(2, 0, span), 1, false},
		{"poisson-1x", poisson(1, 1), sqrt, false},
		{"poisson-2x", poisson(2, 2), sqrt, false},
		{"burst-then-steady", burstThenSteady, limit, false}, // two full fixed windows
	}
}

// accuracy is the outcome of driving both limiters with one pattern.
type accuracy struct {
	logAt                        []time.Duration // when the log admitted a call
	logAdmitted, counterAdmitted int             // calls admitted in the whole run
	logMax, counterMax           int             // most admitted in any window-long interval
}

// overPercent is how far the counter's worst window exceeded limit, in
// percent of it.
func (a accuracy) overPercent(limit int) float64 {
	return 100 * float64(a.counterMax-limit) / float64(limit)
}

// measureAccuracy drives a log and a counter limiter with the same arrivals.
func measureAccuracy(t testing.TB, limit int, window time.Duration, at []time.Duration) accuracy {
	k := newClock(t)
	exact, err := New(k.c, limit, window, nil)
	if err != nil {
		t.Fatal(err)
	}
	approx, err := New(k.c, limit, window, counterOpts)
	if err != nil {
		t.Fatal(err)
	}
	var logAt, counterAt []time.Duration
	for _, d := range at {
		k.at(d)
		if allowN(t, exact, "acc", 1).Allowed {
			logAt = append(logAt, d)
		}
		if allowN(t, approx, "acc", 1).Allowed {
			counterAt = append(counterAt, d)
		}
	}
	return accuracy{
		logAt:       logAt,
		logAdmitted: len(logAt), counterAdmitted: len(counterAt),
		logMax: maxInWindow(logAt, window), counterMax: maxInWindow(counterAt, window),
	}
}

// slidingLog returns the arrivals (sorted, one call each) that an exact
// sliding-window log admits: a call is admitted when fewer than limit
// admitted calls were made less than a window before it.
func slidingLog(at []time.Duration, limit int, window time.Duration) []time.Duration {
	var admitted []time.Duration
	for _, d := range at {
		inWindow := len(admitted) - sort.Search(len(admitted), func(i int) bool { return admitted[i] > d-window })
		if inWindow < limit {
			admitted = append(admitted, d)
		}
	}
	return admitted
}

// The log admits exactly the calls an exact sliding window admits (so
// never more than the limit in any window, and never fewer than it
// could); the counter stays within the bounds the package documentation
// gives: one call over for evenly spread traffic, about √limit for
// random traffic, twice the limit always; and it admits at least
// (limit - 1)/limit of what the log admits, and every call of evenly
// spread traffic under the limit. The arrivals are fixed (seeded) and the
// clock is set, so every run gives the same numbers.
func TestCounterAccuracy(t *testing.T) {
	const (
		limit  = 30
		window = 10 * time.Second
	)
	for _, p := range arrivalPatterns(limit, window, 6) {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			a := measureAccuracy(t, limit, window, p.at)
			t.Logf("%d arrivals: log admitted %d (at most %d per window), counter %d (at most %d per window, %+.0f%%)",
				len(p.at), a.logAdmitted, a.logMax, a.counterAdmitted, a.counterMax, a.overPercent(limit))
			if a.logMax > limit {
				t.Errorf("log admitted %d calls in one window, limit %d", a.logMax, limit)
			}
			if a.counterMax > limit+p.maxOver {
				t.Errorf("counter admitted %d calls in one window, limit %d: more than the documented %d over", a.counterMax, limit, p.maxOver)
			}
			if want := slidingLog(p.at, limit, window); !slices.Equal(a.logAt, want) {
				t.Errorf("log admitted %d calls, want the %d an exact sliding window admits", a.logAdmitted, len(want))
			}
			if a.counterAdmitted*limit < a.logAdmitted*(limit-1) {
				t.Errorf("counter admitted %d calls, fewer than (limit - 1)/limit of the log's %d", a.counterAdmitted, a.logAdmitted)
			}
			if p.belowLimit && (a.logAdmitted != len(p.at) || a.counterAdmitted != len(p.at)) {
				t.Errorf("of %d calls under the limit, log admitted %d, counter %d: want all", len(p.at), a.logAdmitted, a.counterAdmitted)
			}
		})
	}
}

// BenchmarkCounterAccuracy measures the counter's error on
// longer runs at higher limits than the test, and reports, per pattern, how
// far the counter's worst window-long interval went over the limit (in
// calls, over-calls, and in percent of the limit, over-%) and how many calls
// it admitted in all compared with the log (admitted-%). It drives
// miniredis, whose scripts are slow (about 0.5 ms a call), so one run takes
// about a minute:
//
//	go test -run '^$' -bench CounterAccuracy -benchtime 1x ./ratelimit/
func BenchmarkCounterAccuracy(b *testing.B) {
	const window = 10 * time.Second
	for _, limit := range []int{100, 400} {
		for _, p := range arrivalPatterns(limit, window, 10) {
			b.Run(p.name+"/limit="+strconv.Itoa(limit), func(b *testing.B) {
				var a accuracy
				for b.Loop() {
					a = measureAccuracy(b, limit, window, p.at)
				}
				b.ReportMetric(float64(a.counterMax-limit), "over-calls")
				b.ReportMetric(a.overPercent(limit), "over-%")
				b.ReportMetric(100*float64(a.counterAdmitted)/float64(a.logAdmitted), "admitted-%")
				if a.logMax > limit {
					b.Errorf("log admitted %d calls in one window, limit %d", a.logMax, limit)
				}
			})
		}
	}
}

// maxInWindow returns the most of times (sorted) that fall within any
// interval [t, t+window): a call made exactly one window after another no
// longer sees it, as in the log.
func maxInWindow(times []time.Duration, window time.Duration) int {
	best, i := 0, 0
	for j := range times {
		for times[j]-times[i] >= window {
			i++
		}
		best = max(best, j-i+1)
	}
	return best
}

func TestMaxInWindow(t *testing.T) {
	s := time.Second
	cases := []struct {
		times []time.Duration
		want  int
	}{
		{nil, 0},
		{[]time.Duration{0}, 1},
		{[]time.Duration{0, 9 * s, 10 * s, 11 * s}, 3},
		{[]time.Duration{0, 1, 2, 10 * s, 10*s + 1}, 3},
	}
	for _, c := range cases {
		if got := maxInWindow(c.times, 10*s); got != c.want {
			t.Errorf("maxInWindow(%v) = %d, want %d", c.times, got, c.want)
		}
	}
}

// saturating returns random (Poisson) arrivals at ten times the limit for
// the given number of windows: demand no limiter meets, so that every call
// the estimate allows is admitted.
func saturating(limit int, window time.Duration, windows int) []time.Duration {
	r := rand.New(rand.NewPCG(uint64(limit), 10))
	span := time.Duration(windows) * window
	mean := float64(window) / (10 * float64(limit))
	var at []time.Duration
	for d := time.Duration(r.ExpFloat64() * mean); d < span; d += time.Duration(r.ExpFloat64() * mean) {
		at = append(at, d.Truncate(time.Microsecond))
	}
	return at
}

// Under saturating demand the counter admits fewer calls than the log at
// small limits: its estimate counts a share of the previous window's calls
// until that window has wholly left, so after the first window it lets
// through limit - 1 calls per window (at a limit of 1, one call every other
// window). The package documentation and BENCHMARKS.md state these figures.
func TestCounterAdmission(t *testing.T) {
	const window = 10 * time.Second
	for _, c := range []struct {
		limit   int
		percent float64 // counter admitted / log admitted, over 10 windows
	}{
		{1, 50}, {2, 55}, {5, 82}, {10, 91},
	} {
		t.Run("limit="+strconv.Itoa(c.limit), func(t *testing.T) {
			t.Parallel()
			at := saturating(c.limit, window, 10)
			a := measureAccuracy(t, c.limit, window, at)
			if want := slidingLog(at, c.limit, window); !slices.Equal(a.logAt, want) {
				t.Fatalf("log admitted %d calls, want the %d an exact sliding window admits", a.logAdmitted, len(want))
			}
			got := 100 * float64(a.counterAdmitted) / float64(a.logAdmitted)
			t.Logf("log admitted %d, counter %d (%.1f%%)", a.logAdmitted, a.counterAdmitted, got)
			if math.Abs(got-c.percent) > 2 {
				t.Errorf("counter admitted %.1f%% of what the log did, want %.0f%% ± 2", got, c.percent)
			}
		})
	}
}

// BenchmarkCounterAdmission reports, per limit, the calls the
// counter admitted under saturating demand (random arrivals at ten times
// the limit, over 10 windows) as a share of what the exact log admitted
// (admitted-%), and the most it let through in any window-long interval
// over the limit (over-calls). About 3.5 minutes on miniredis, most of
// them at the limit of 1000:
//
//	go test -run '^$' -bench CounterAdmission -benchtime 1x ./ratelimit/
func BenchmarkCounterAdmission(b *testing.B) {
	const window = 10 * time.Second
	for _, limit := range []int{1, 2, 5, 10, 100, 1000} {
		at := saturating(limit, window, 10)
		b.Run("limit="+strconv.Itoa(limit), func(b *testing.B) {
			var a accuracy
			for b.Loop() {
				a = measureAccuracy(b, limit, window, at)
			}
			b.ReportMetric(100*float64(a.counterAdmitted)/float64(a.logAdmitted), "admitted-%")
			b.ReportMetric(float64(a.counterMax-limit), "over-calls")
		})
	}
}

// BenchmarkCounterSeeds repeats the random (Poisson) traffic at
// the limit over 10 windows with 40 seeds, and reports the most calls over
// the limit the counter let through in a window-long interval in any of
// them (worst-over-calls) and on average (mean-over-calls): one seed, as in
// the test, shows a typical run, not the worst. About a minute, on
// miniredis:
//
//	go test -run '^$' -bench CounterSeeds -benchtime 1x ./ratelimit/
func BenchmarkCounterSeeds(b *testing.B) {
	const (
		window = 10 * time.Second
		seeds  = 40
	)
	for _, limit := range []int{30, 100} {
		b.Run("limit="+strconv.Itoa(limit), func(b *testing.B) {
			var worst, sum int
			for b.Loop() {
				worst, sum = 0, 0
				for seed := range uint64(seeds) {
					r := rand.New(rand.NewPCG(seed, 9))
					mean := float64(window) / float64(limit)
					var at []time.Duration
					for d := time.Duration(r.ExpFloat64() * mean); d < 10*window; d += time.Duration(r.ExpFloat64() * mean) {
						at = append(at, d.Truncate(time.Microsecond))
					}
					over := measureAccuracy(b, limit, window, at).counterMax - limit
					worst, sum = max(worst, over), sum+over
				}
			}
			b.ReportMetric(float64(worst), "worst-over-calls")
			b.ReportMetric(float64(sum)/seeds, "mean-over-calls")
		})
	}
}
