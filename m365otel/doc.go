// Package m365otel instruments the library with OpenTelemetry: metrics
// and traces through the OpenTelemetry API, for hosts that run it. It is a
// package of its own so that hosts that do not want it never import it;
// the core packages only expose the hooks it plugs into.
//
//	in, err := m365otel.New() // the global providers, or WithTracerProvider / WithMeterProvider
//	gc, err := graphclient.New(graphclient.Config{
//		HTTPClient: &http.Client{Transport: in.Transport(graphclient.DefaultTransport())},
//		OnRetry:    in.OnRetry,
//	})
//	mgr, err := tokens.NewManager(tokens.Config{..., OnRefresh: in.OnRefresh})
//	engine, err := m365sync.New(m365sync.Config{Client: gc, ..., OnPass: in.OnPass})
//	reg, err := in.ObserveSummary(engine) // or ObserveLag: one series per mailbox
//
// What it records (instrumentation scope "github.com/m365link/m365link/m365otel"):
//   - a span per sync pass ("m365link.sync.pass", with the mailbox), and
//     under it a client span per Graph request attempt ("graph GET" …,
//     with the method, path — never the query, which can hold delta
//     tokens — and status);
//   - m365link.graph.requests (by method and status code),
//     m365link.graph.throttled (429 answers), m365link.graph.retry.wait
//     (seconds waited between attempts, by cause), and
//     m365link.graph.response.size (bytes read);
//   - m365link.sync.passes (by outcome), m365link.sync.pass.duration,
//     m365link.sync.pages and m365link.sync.items;
//   - with ObserveSummary, what Run's periodic summary log line says
//     (sync.Engine.Summary), in a few series however many mailboxes sync:
//     m365link.sync.mailboxes (by state, "unseen" and "removing"
//     included), m365link.sync.running, and the quantiles over mailboxes
//     of the seconds since their last good pass, m365link.sync.lag.p50,
//     m365link.sync.lag.p99 and m365link.sync.lag.max; passes, requests
//     and 429s are the counters above;
//   - with ObserveLag, m365link.sync.lag (seconds since each mailbox's
//     last good pass, by mailbox): one series per mailbox, for a few
//     hundred of them, not thousands;
//   - m365link.tokens.refreshes (by outcome) and
//     m365link.tokens.refresh.duration.
//
// Tokens, secrets and the queries of links never go into an attribute.
package m365otel
