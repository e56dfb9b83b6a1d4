package redisluaotel

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Options configures an Observer; a nil *Options means every default.
type Options struct {
	// TracerProvider makes the spans; nil means otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// MeterProvider makes the instruments; nil means
	// otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// Attributes are added to every span and measurement, such as the
	// name of the Redis deployment. Keep them few and fixed: each set of
	// values is a time series.
	Attributes []attribute.KeyValue
}
