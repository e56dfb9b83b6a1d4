package redisluaotel

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/lock"
	"github.com/redislua/redislua/ratelimit"
)

// Metric names and the attributes of the events' metrics.
const (
	// OperationDuration is the semantic conventions' histogram of database
	// calls, in seconds: here one measurement per logical call.
	OperationDuration = "db.client.operation.duration"
	// Fallbacks counts calls sent again after NOSCRIPT or a missing
	// Function library.
	Fallbacks = "redislua.call.fallbacks"
	// Errors counts failed calls by error.type.
	Errors = "redislua.call.errors"
	// LockAcquireDuration is the time Acquire and TryAcquire took, in
	// seconds, by redislua.lock.outcome: immediate, waited (a hand-off
	// from another holder) or not_acquired.
	LockAcquireDuration = "redislua.lock.acquire.duration"
	// LockHandoffs counts acquisitions that waited for another holder.
	LockHandoffs = "redislua.lock.handoffs"
	// LockLost counts acquisitions found lost before their Release.
	LockLost = "redislua.lock.lost"
	// RateLimitDecisions counts a limiter's answers by
	// redislua.ratelimit.decision (allowed, refused) and
	// redislua.ratelimit.algorithm.
	RateLimitDecisions = "redislua.ratelimit.decisions"
	// Events counts the events of other packages, by redislua.event.name
	// and redislua.event.detail.
	Events = "redislua.events"

	LockOutcomeKey        = attribute.Key("redislua.lock.outcome")
	RateLimitDecisionKey  = attribute.Key("redislua.ratelimit.decision")
	RateLimitAlgorithmKey = attribute.Key("redislua.ratelimit.algorithm")
	EventNameKey          = attribute.Key("redislua.event.name")
	EventDetailKey        = attribute.Key("redislua.event.detail")
)

// durationBuckets are the semantic conventions' advice for
// db.client.operation.duration, in seconds.
var durationBuckets = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10}

type instruments struct {
	duration    metric.Float64Histogram
	fallbacks   metric.Int64Counter
	errors      metric.Int64Counter
	lockAcquire metric.Float64Histogram
	handoffs    metric.Int64Counter
	lost        metric.Int64Counter
	decisions   metric.Int64Counter
	events      metric.Int64Counter
}

func newInstruments(m metric.Meter) (*instruments, error) {
	var i instruments
	var errs [8]error
	i.duration, errs[0] = m.Float64Histogram(OperationDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of script and Function calls (with their fallback) and of pipelines carrying them."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	i.fallbacks, errs[1] = m.Int64Counter(Fallbacks, metric.WithUnit("{call}"),
		metric.WithDescription("Calls sent again because the server did not have the script (NOSCRIPT) or Function library."))
	i.errors, errs[2] = m.Int64Counter(Errors, metric.WithUnit("{call}"),
		metric.WithDescription("Failed script and Function calls, by error.type."))
	i.lockAcquire, errs[3] = m.Float64Histogram(LockAcquireDuration, metric.WithUnit("s"),
		metric.WithDescription("Time lock acquisitions took, by outcome."),
		metric.WithExplicitBucketBoundaries(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60))
	i.handoffs, errs[4] = m.Int64Counter(LockHandoffs, metric.WithUnit("{acquisition}"),
		metric.WithDescription("Lock acquisitions that waited for another holder."))
	i.lost, errs[5] = m.Int64Counter(LockLost, metric.WithUnit("{acquisition}"),
		metric.WithDescription("Lock acquisitions found lost before their release."))
	i.decisions, errs[6] = m.Int64Counter(RateLimitDecisions, metric.WithUnit("{decision}"),
		metric.WithDescription("Rate limiter answers, by decision and algorithm."))
	i.events, errs[7] = m.Int64Counter(Events, metric.WithUnit("{event}"),
		metric.WithDescription("Events of packages built on scripts, by name and detail."))
	return &i, errors.Join(errs[:]...)
}

// event records ev on its metric.
func (i *instruments) event(ctx context.Context, ev redislua.Event, extra []attribute.KeyValue) {
	with := func(kv ...attribute.KeyValue) metric.MeasurementOption {
		return metric.WithAttributes(append(kv, extra...)...)
	}
	switch ev.Name {
	case lock.EventAcquired:
		outcome := LockOutcomeKey.String(ev.Detail)
		i.lockAcquire.Record(ctx, ev.Duration.Seconds(), with(outcome))
		if ev.Detail == "waited" {
			i.handoffs.Add(ctx, 1, with())
		}
	case lock.EventNotAcquired:
		i.lockAcquire.Record(ctx, ev.Duration.Seconds(), with(LockOutcomeKey.String("not_acquired")))
	case lock.EventLost:
		i.lost.Add(ctx, 1, with())
	case ratelimit.EventAllowed, ratelimit.EventRefused:
		decision := "allowed"
		if ev.Name == ratelimit.EventRefused {
			decision = "refused"
		}
		i.decisions.Add(ctx, 1, with(RateLimitDecisionKey.String(decision), RateLimitAlgorithmKey.String(ev.Detail)))
	default:
		i.events.Add(ctx, 1, with(EventNameKey.String(ev.Name), EventDetailKey.String(ev.Detail)))
	}
}
