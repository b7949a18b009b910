package m365otel_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
	"github.com/m365link/m365link/m365otel"
	m365sync "github.com/m365link/m365link/sync"
)

// A pass over one mailbox with one throttled answer: a pass span with a
// client span per request attempt under it, no query in any attribute,
// and counters that agree with what the fake served.
func TestSyncPassIsTracedAndCounted(t *testing.T) {
	fg := fakegraph.New()
	t.Cleanup(fg.Close)
	seed := fakegraph.Seed(fg, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 25, Vendors: 2, Seed: 40})
	u := seed.Mailboxes[0].User
	mb := m365link.Mailbox{TenantID: u.TenantID, UserID: u.ID, UPN: u.UPN}
	fg.Inject(fakegraph.Fault{Kind: fakegraph.Throttle429, RetryAfter: "0", Route: "messages/delta", Mailbox: u.ID, Times: 1})

	spans := tracetest.NewSpanRecorder()
	reader := sdkmetric.NewManualReader()
	in, err := m365otel.New(m365otel.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))),
		m365otel.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	require.NoError(t, err)
	gc, err := graphclient.New(graphclient.Config{Cloud: m365link.Cloud{Name: "fake", GraphBase: fg.URL()},
		HTTPClient: &http.Client{Transport: in.Transport(fg.Client().Transport)}, OnRetry: in.OnRetry,
		Retry: graphclient.Retry{MinRetryAfter: 1}})
	require.NoError(t, err)
	e, err := m365sync.New(m365sync.Config{Client: gc, TenantID: u.TenantID, OnPass: in.OnPass,
		Tokens: func(m365link.Mailbox) m365sync.TokenSource { return graphclient.StaticToken("test") },
		Sink:   &m365sync.MemorySink{}, State: &m365sync.MemoryState{}, Folders: []m365sync.FolderSpec{{WellKnown: "inbox"}}})
	require.NoError(t, err)
	reg, err := in.ObserveLag(e)
	require.NoError(t, err)
	defer reg.Unregister()
	require.NoError(t, e.SyncOnce(context.Background(), mb))
	served := fg.Stats(u.ID).Requests

	ended := spans.Ended()
	var pass sdktrace.ReadOnlySpan
	requests := 0
	for _, s := range ended {
		for _, a := range s.Attributes() {
			v := a.Value.Emit()
			assert.NotContains(t, v, "deltatoken", s.Name())
			assert.NotContains(t, v, "skiptoken", s.Name())
			assert.NotContains(t, v, "Bearer", s.Name())
		}
		switch {
		case s.Name() == "m365link.sync.pass":
			pass = s
		case strings.HasPrefix(s.Name(), "graph "):
			requests++
		}
	}
	require.NotNil(t, pass)
	assert.Equal(t, served, requests, "a span per attempt")
	for _, s := range ended {
		if strings.HasPrefix(s.Name(), "graph ") {
			assert.Equal(t, pass.SpanContext().SpanID(), s.Parent().SpanID(), "under the pass span")
		}
	}
	inbox := len(seed.Mailboxes[0].Inbox)
	assert.Contains(t, pass.Attributes(), attribute.Int("m365link.sync.items", inbox))

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	got := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					got[m.Name] += float64(p.Value)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					got[m.Name+".count"] += float64(p.Count)
				}
			case metricdata.Gauge[float64]:
				got[m.Name+".points"] = float64(len(d.DataPoints))
			}
		}
	}
	assert.Equal(t, float64(served), got["m365link.graph.requests"])
	assert.Equal(t, float64(1), got["m365link.graph.throttled"])
	assert.Equal(t, float64(1), got["m365link.graph.retry.wait.count"])
	assert.Equal(t, float64(1), got["m365link.sync.passes"])
	assert.Equal(t, float64(inbox), got["m365link.sync.items"])
	assert.Equal(t, float64(1), got["m365link.sync.lag.points"])
	assert.Positive(t, got["m365link.graph.response.size"])
}

// ObserveSummary reports the engine's summary as a few series: mailboxes
// by state, jobs running and the lag's quantiles.
func TestObserveSummary(t *testing.T) {
	fg := fakegraph.New()
	t.Cleanup(fg.Close)
	seed := fakegraph.Seed(fg, fakegraph.SeedSpec{Mailboxes: 3, MessagesPerMailbox: 4, Vendors: 2, Seed: 41})
	reader := sdkmetric.NewManualReader()
	in, err := m365otel.New(m365otel.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	require.NoError(t, err)
	gc, err := graphclient.New(graphclient.Config{Cloud: m365link.Cloud{Name: "fake", GraphBase: fg.URL()}, HTTPClient: fg.Client()})
	require.NoError(t, err)
	e, err := m365sync.New(m365sync.Config{Client: gc, TenantID: seed.Tenants[0].Tenant.ID,
		Tokens: func(m365link.Mailbox) m365sync.TokenSource { return graphclient.StaticToken("test") },
		Sink:   &m365sync.MemorySink{}, State: &m365sync.MemoryState{}, Policy: m365sync.Policy{AllMailboxes: true},
		Schedule: m365sync.Schedule{Interval: time.Hour}})
	require.NoError(t, err)
	reg, err := in.ObserveSummary(e)
	require.NoError(t, err)
	defer reg.Unregister()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	require.Eventually(t, func() bool { return e.Summary().States[m365sync.StateIdle] == 3 }, 5*time.Second, time.Millisecond)
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	cancel()
	<-done
	mailboxes := map[string]int64{}
	lags := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				if m.Name == "m365link.sync.mailboxes" {
					for _, p := range d.DataPoints {
						st, _ := p.Attributes.Value("m365link.sync.state")
						mailboxes[st.AsString()] = p.Value
					}
				}
			case metricdata.Gauge[float64]:
				lags[m.Name] = len(d.DataPoints) == 1 && d.DataPoints[0].Value > 0
			}
		}
	}
	assert.Equal(t, map[string]int64{"idle": 3, "unseen": 0, "removing": 0}, mailboxes)
	assert.Equal(t, map[string]bool{"m365link.sync.lag.p50": true, "m365link.sync.lag.p99": true, "m365link.sync.lag.max": true}, lags)
}
