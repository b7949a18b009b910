package m365otel

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/m365link/m365link"
	m365sync "github.com/m365link/m365link/sync"
)

// ScopeName is the instrumentation scope of every span and instrument.
const ScopeName = "github.com/m365link/m365link/m365otel"

// Option configures [New].
type Option func(*options)

type options struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

// WithTracerProvider sets the tracer provider; default the global one.
func WithTracerProvider(tp trace.TracerProvider) Option { return func(o *options) { o.tp = tp } }

// WithMeterProvider sets the meter provider; default the global one.
func WithMeterProvider(mp metric.MeterProvider) Option { return func(o *options) { o.mp = mp } }

// Instruments are the spans and metrics the hooks record. Make one per
// process with [New]; it is safe for concurrent use.
type Instruments struct {
	tracer trace.Tracer
	meter  metric.Meter

	requests, throttled, responseBytes metric.Int64Counter
	retryWait                          metric.Float64Histogram
	passes, pages, items               metric.Int64Counter
	passDuration                       metric.Float64Histogram
	refreshes                          metric.Int64Counter
	refreshDuration                    metric.Float64Histogram
	lag                                metric.Float64ObservableGauge
	mailboxes, running                 metric.Int64ObservableGauge
	lagP50, lagP99, lagMax             metric.Float64ObservableGauge
}

// New creates the instruments on the configured (or global) providers.
func New(opts ...Option) (*Instruments, error) {
	o := options{tp: otel.GetTracerProvider(), mp: otel.GetMeterProvider()}
	for _, opt := range opts {
		opt(&o)
	}
	in := &Instruments{tracer: o.tp.Tracer(ScopeName), meter: o.mp.Meter(ScopeName)}
	m := in.meter
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	histogram := func(name, desc string) metric.Float64Histogram {
		h, err := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc))
		errs = append(errs, err)
		return h
	}
	in.requests = counter("m365link.graph.requests", "{request}", "Graph request attempts, retries included, by method and status code (0: no answer)")
	in.throttled = counter("m365link.graph.throttled", "{request}", "Graph answers 429 (throttled)")
	in.responseBytes = counter("m365link.graph.response.size", "By", "Bytes of Graph responses read, after decompression")
	in.retryWait = histogram("m365link.graph.retry.wait", "Waits between attempts of a Graph request, by cause")
	in.passes = counter("m365link.sync.passes", "{pass}", "Sync passes over a mailbox, by outcome")
	in.pages = counter("m365link.sync.pages", "{page}", "Delta pages fetched by sync passes")
	in.items = counter("m365link.sync.items", "{message}", "Messages sync passes handed to the sink")
	in.passDuration = histogram("m365link.sync.pass.duration", "Duration of sync passes")
	in.refreshes = counter("m365link.tokens.refreshes", "{refresh}", "Token acquisitions past the token in memory, by outcome")
	in.refreshDuration = histogram("m365link.tokens.refresh.duration", "Duration of token acquisitions past the token in memory")
	var err error
	in.lag, err = m.Float64ObservableGauge("m365link.sync.lag", metric.WithUnit("s"),
		metric.WithDescription("Seconds since each mailbox's last successful sync pass"))
	errs = append(errs, err)
	in.mailboxes, err = m.Int64ObservableGauge("m365link.sync.mailboxes", metric.WithUnit("{mailbox}"),
		metric.WithDescription("Mailboxes the policy selects, by state (unseen: no pass ended yet here; removing: left the policy)"))
	errs = append(errs, err)
	in.running, err = m.Int64ObservableGauge("m365link.sync.running", metric.WithUnit("{job}"),
		metric.WithDescription("Sync passes and removals in flight"))
	errs = append(errs, err)
	lagGauge := func(name, desc string) metric.Float64ObservableGauge {
		g, err := m.Float64ObservableGauge(name, metric.WithUnit("s"), metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	in.lagP50 = lagGauge("m365link.sync.lag.p50", "Median over mailboxes of the seconds since their last successful pass")
	in.lagP99 = lagGauge("m365link.sync.lag.p99", "99th percentile over mailboxes of the seconds since their last successful pass")
	in.lagMax = lagGauge("m365link.sync.lag.max", "Most seconds any mailbox waits since its last successful pass")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return in, nil
}

// Transport wraps base (nil: http.DefaultTransport) so that every Graph
// request attempt gets a client span and is counted. Give it to
// graphclient.Config.HTTPClient, e.g. around graphclient.DefaultTransport().
func (in *Instruments) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{in: in, base: base}
}

type transport struct {
	in   *Instruments
	base http.RoundTripper
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, span := t.in.tracer.Start(r.Context(), "graph "+r.Method, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("server.address", r.URL.Hostname()),
			// The path only: a link's query can hold a delta token.
			attribute.String("url.path", r.URL.EscapedPath()),
		))
	resp, err := t.base.RoundTrip(r.WithContext(ctx))
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	t.in.requests.Add(ctx, 1, metric.WithAttributes(attribute.String("http.request.method", r.Method),
		attribute.Int("http.response.status_code", status)))
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "no answer")
		span.End()
		return nil, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status == http.StatusTooManyRequests {
		t.in.throttled.Add(ctx, 1)
	}
	if status >= 500 || status == http.StatusTooManyRequests {
		span.SetStatus(codes.Error, strconv.Itoa(status))
	}
	resp.Body = &countedBody{ReadCloser: resp.Body, ctx: ctx, in: t.in, span: span}
	return resp, nil
}

// countedBody counts the bytes read and ends the request's span when the
// body is closed.
type countedBody struct {
	io.ReadCloser
	ctx    context.Context
	in     *Instruments
	span   trace.Span
	n      int64
	closed bool
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

func (b *countedBody) Close() error {
	err := b.ReadCloser.Close()
	if !b.closed {
		b.closed = true
		b.in.responseBytes.Add(b.ctx, b.n)
		b.span.SetAttributes(attribute.Int64("http.response.body.size", b.n))
		b.span.End()
	}
	return err
}

// OnRetry records a wait between attempts; give it to
// graphclient.Config.OnRetry.
func (in *Instruments) OnRetry(_ string, _ int, wait time.Duration, cause error) {
	in.retryWait.Record(context.Background(), wait.Seconds(), metric.WithAttributes(attribute.String("cause", causeOf(cause))))
}

// OnPass starts a span for a sync pass and records its outcome; give it
// to sync.Config.OnPass.
func (in *Instruments) OnPass(ctx context.Context, mb m365link.Mailbox) (context.Context, func(m365sync.PassResult)) {
	ctx, span := in.tracer.Start(ctx, "m365link.sync.pass", trace.WithAttributes(
		attribute.String("m365link.tenant", mb.TenantID), attribute.String("m365link.mailbox", mb.UserID)))
	return ctx, func(r m365sync.PassResult) {
		outcome := "ok"
		if r.Err != nil {
			outcome = m365sync.Cause(r.Err)
			span.RecordError(r.Err)
			span.SetStatus(codes.Error, outcome)
		}
		span.SetAttributes(attribute.Int("m365link.sync.pages", r.Pages), attribute.Int("m365link.sync.items", r.Items),
			attribute.Int64("m365link.sync.requests", r.Requests), attribute.String("m365link.sync.state", string(r.State)))
		span.End()
		in.passes.Add(ctx, 1, metric.WithAttributes(attribute.String("outcome", outcome)))
		in.pages.Add(ctx, int64(r.Pages))
		in.items.Add(ctx, int64(r.Items))
		in.passDuration.Record(ctx, r.Duration.Seconds(), metric.WithAttributes(attribute.String("outcome", outcome)))
	}
}

// OnRefresh records a token acquisition; give it to
// tokens.Config.OnRefresh.
func (in *Instruments) OnRefresh(_ m365link.Account, took time.Duration, err error) {
	outcome := "ok"
	switch {
	case errors.Is(err, m365link.ErrReconnectRequired):
		outcome = "reconnect required"
	case err != nil:
		outcome = causeOf(err)
	}
	attrs := metric.WithAttributes(attribute.String("outcome", outcome))
	in.refreshes.Add(context.Background(), 1, attrs)
	in.refreshDuration.Record(context.Background(), took.Seconds(), attrs)
}

// ObserveLag reports m365link.sync.lag for every mailbox the engine has
// synced: seconds since its last successful pass (by mailbox key). Call
// Unregister on the result to stop.
func (in *Instruments) ObserveLag(e *m365sync.Engine) (metric.Registration, error) {
	return in.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		now := time.Now()
		for _, st := range e.Statuses() {
			if st.LastSync.IsZero() {
				continue
			}
			o.ObserveFloat64(in.lag, now.Sub(st.LastSync).Seconds(), metric.WithAttributes(attribute.String("m365link.mailbox", st.Mailbox.Key())))
		}
		return nil
	}, in.lag)
}

// ObserveSummary reports, from the engine's [m365sync.Engine.Summary],
// m365link.sync.mailboxes (by state), m365link.sync.running and the lag's
// quantiles over mailboxes, m365link.sync.lag.p50, .p99 and .max: a few
// series however many mailboxes sync, where [Instruments.ObserveLag] gives
// one per mailbox. Each collection costs a look at every mailbox. Call
// Unregister on the result to stop.
func (in *Instruments) ObserveSummary(e *m365sync.Engine) (metric.Registration, error) {
	return in.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := e.Summary()
		for st, n := range s.States {
			o.ObserveInt64(in.mailboxes, int64(n), metric.WithAttributes(attribute.String("m365link.sync.state", string(st))))
		}
		o.ObserveInt64(in.mailboxes, int64(s.Unseen), metric.WithAttributes(attribute.String("m365link.sync.state", "unseen")))
		o.ObserveInt64(in.mailboxes, int64(s.Removing), metric.WithAttributes(attribute.String("m365link.sync.state", "removing")))
		o.ObserveInt64(in.running, int64(s.Running))
		o.ObserveFloat64(in.lagP50, s.LagP50.Seconds())
		o.ObserveFloat64(in.lagP99, s.LagP99.Seconds())
		o.ObserveFloat64(in.lagMax, s.LagMax.Seconds())
		return nil
	}, in.mailboxes, in.running, in.lagP50, in.lagP99, in.lagMax)
}

// causeOf names a Graph or token failure for an attribute.
func causeOf(err error) string {
	if err == nil {
		return "none"
	}
	return m365sync.Cause(err)
}
