package m365linktest

import (
	"maps"
	"strconv"
	"time"

	"github.com/m365link/m365link/internal/fakegraph"
)

// FaultKind is what an injected [Fault] does to a Graph request.
type FaultKind int

// The faults Graph serves in real life.
const (
	// Throttle answers 429 Too Many Requests (ApplicationThrottled) with
	// Fault.RetryAfter.
	Throttle FaultKind = iota + 1
	// Unavailable answers 503 Service Unavailable with Fault.RetryAfter.
	Unavailable
	// GatewayTimeout answers 504, as Graph does when a page is too big.
	GatewayTimeout
	// SyncReset answers 410 Gone (syncStateNotFound) with a Location
	// holding the base delta query: the cursor is lost and the sync must
	// start over. See also [Tenant.ResetSyncState].
	SyncReset
	// ConnectionReset drops the connection before any answer.
	ConnectionReset
	// TruncatedBody sends the real answer's headers and half its body,
	// then drops the connection.
	TruncatedBody
	// MalformedBody answers 200 with a body that is not JSON.
	MalformedBody
	// SlowResponse waits Fault.Delay (or until the client gives up), then
	// answers normally.
	SlowResponse
	// ForeignLink answers normally, but the page's nextLink or deltaLink
	// points at another origin, which a client must refuse to follow.
	ForeignLink
)

var faultKinds = map[FaultKind]struct {
	name string
	kind fakegraph.FaultKind
}{
	Throttle:        {"throttle", fakegraph.Throttle429},
	Unavailable:     {"unavailable", fakegraph.Unavailable503},
	GatewayTimeout:  {"gateway timeout", fakegraph.GatewayTimeout504},
	SyncReset:       {"sync reset", fakegraph.SyncReset410},
	ConnectionReset: {"connection reset", fakegraph.ConnReset},
	TruncatedBody:   {"truncated body", fakegraph.TruncatedBody},
	MalformedBody:   {"malformed body", fakegraph.MalformedJSON},
	SlowResponse:    {"slow response", fakegraph.Latency},
	ForeignLink:     {"foreign link", fakegraph.ForeignNextLink},
}

// String names the kind, e.g. "throttle".
func (k FaultKind) String() string {
	if f, ok := faultKinds[k]; ok {
		return f.name
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// Fault spoils chosen Graph requests. A request matches when its path
// contains Route (case-insensitively; "" matches all, e.g.
// "/messages/delta" or "/mailFolders") and it addresses Mailbox (a user ID
// or UPN; "" matches all). The first Skip matching requests pass, the next
// Times (0: all of them) get the fault. When several faults match a
// request, the first injected one that is due fires.
type Fault struct {
	Kind    FaultKind
	Route   string
	Mailbox string
	// RetryAfter is sent as Retry-After with Throttle and Unavailable,
	// in seconds (fractions allowed); zero sends none.
	RetryAfter time.Duration
	// Delay is how long SlowResponse waits.
	Delay time.Duration
	Skip  int
	Times int
	// AfterServe lets the request do what it does first and then spoils
	// its answer (Throttle, Unavailable, GatewayTimeout, ConnectionReset,
	// SlowResponse): a send that went out although the client saw a 503.
	AfterServe bool
}

// Inject adds a fault; remove takes it out again.
func (t *Tenant) Inject(f Fault) (remove func()) {
	k, ok := faultKinds[f.Kind]
	if !ok {
		panic("m365linktest: unknown fault " + f.Kind.String())
	}
	ff := fakegraph.Fault{Route: f.Route, Mailbox: f.Mailbox, Kind: k.kind, Delay: f.Delay, Skip: f.Skip, Times: f.Times, AfterServe: f.AfterServe}
	if f.RetryAfter > 0 {
		ff.RetryAfter = strconv.FormatFloat(f.RetryAfter.Seconds(), 'f', -1, 64)
	}
	return t.graph.Inject(ff)
}

// ResetSyncState makes Graph lose every sync state of a mailbox: each
// delta link handed out so far answers 410 Gone, and the sync must start
// its folders over.
func (t *Tenant) ResetSyncState(mailbox string) { t.graph.InvalidateDeltaTokens(mailbox) }

// Stats counts the Graph requests one mailbox saw since the tenant
// started or since [Tenant.ResetStats].
type Stats struct {
	// Requests addressed to the mailbox, $batch items included.
	Requests int
	// InFlight are being served now; MaxInFlight is the most there ever
	// were at once.
	InFlight, MaxInFlight int
	// Throttled are 429 answers served; Faults are injected faults that
	// fired.
	Throttled, Faults int
	// Routes counts requests by method and route, e.g.
	// "GET /users/{id}/mailFolders/{id}/messages/delta".
	Routes map[string]int
}

// Stats returns the counters of a mailbox by user ID or UPN; "" gives the
// requests that addressed no mailbox (/users, /groups, $batch envelopes).
func (t *Tenant) Stats(mailbox string) Stats {
	s := t.graph.Stats(mailbox)
	return Stats{Requests: s.Requests, InFlight: s.InFlight, MaxInFlight: s.MaxInFlight,
		Throttled: s.Throttled, Faults: s.Faults, Routes: maps.Clone(s.Routes)}
}

// ResetStats zeroes every mailbox's counters (requests in flight stay
// counted).
func (t *Tenant) ResetStats() { t.graph.ResetStats() }
