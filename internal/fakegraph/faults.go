package fakegraph

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind is what an injected [Fault] does to a request.
type FaultKind int

// The fault kinds. The sync kinds answer the way Graph reports a lost sync
// state; on a delta route their Location names that route's base request.
const (
	// Throttle429 answers 429 ApplicationThrottled with Fault.RetryAfter.
	Throttle429 FaultKind = iota + 1
	// Unavailable503 answers 503 ServiceNotAvailable with Fault.RetryAfter.
	Unavailable503
	// GatewayTimeout504 answers 504, as Graph does when a page is too big.
	GatewayTimeout504
	// SyncReset410 answers 410 Gone, code syncStateNotFound, with a
	// Location header holding the base delta URL and an empty $deltatoken.
	SyncReset410
	// SyncStateNotFound answers 400 syncStateNotFound.
	SyncStateNotFound
	// SyncStateInvalid answers 400 syncStateInvalid.
	SyncStateInvalid
	// ResyncRequired answers 410 Gone, code resyncRequired, with Location.
	ResyncRequired
	// ConnReset resets the connection (TCP RST) before any response.
	ConnReset
	// TruncatedBody sends the real response's headers and half its body,
	// then drops the connection.
	TruncatedBody
	// MalformedJSON answers 200 with a body that is not valid JSON.
	MalformedJSON
	// Latency waits Fault.Delay (or until the client gives up), then serves
	// the request normally.
	Latency
	// ForeignNextLink serves normally, but the nextLink or deltaLink points
	// at another origin (https://evil.example).
	ForeignNextLink
	// AppliedThen503 serves the request (a write takes effect), then
	// answers 503 ServiceNotAvailable with Fault.RetryAfter instead of the
	// real response: the lost answer a retried create must not double.
	AppliedThen503
)

var faultNames = [...]string{
	Throttle429:       "Throttle429",
	Unavailable503:    "Unavailable503",
	GatewayTimeout504: "GatewayTimeout504",
	SyncReset410:      "SyncReset410",
	SyncStateNotFound: "SyncStateNotFound",
	SyncStateInvalid:  "SyncStateInvalid",
	ResyncRequired:    "ResyncRequired",
	ConnReset:         "ConnReset",
	TruncatedBody:     "TruncatedBody",
	MalformedJSON:     "MalformedJSON",
	Latency:           "Latency",
	ForeignNextLink:   "ForeignNextLink",
	AppliedThen503:    "AppliedThen503",
}

// String returns the kind's name, e.g. "Throttle429".
func (k FaultKind) String() string {
	if k > 0 && int(k) < len(faultNames) {
		return faultNames[k]
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// Fault describes requests to spoil. A request matches when its path
// contains Route (case-insensitively; "" matches all) and it addresses
// Mailbox (user ID or UPN; "" matches all, including requests that address
// no mailbox such as $batch envelopes). The first Skip matching requests
// pass untouched, the next Times (0 = all) get the fault. When several
// faults match a request, the first injected one that is due fires.
type Fault struct {
	Route      string
	Mailbox    string
	Kind       FaultKind
	RetryAfter string // raw Retry-After value for 429 and 503: "2", "0.5", an HTTP date, "garbage"; "" = none
	Delay      time.Duration
	Skip       int
	Times      int
	// Method, if set, limits the fault to requests of that method.
	Method string
	// AfterServe serves the request first and then applies the fault
	// (429, 503, 504, ConnReset or Latency): what the request does
	// happens, but the client sees only the fault, as after a gateway
	// failure once Graph acted.
	AfterServe bool
}

type faultSet struct {
	mu   sync.Mutex
	list []*faultRec
}

type faultRec struct {
	f           Fault
	seen, fired int
	route       string // lower-cased Route
}

// Inject adds a fault; calling remove takes it out again.
func (s *Server) Inject(f Fault) (remove func()) {
	rec := &faultRec{f: f, route: strings.ToLower(f.Route)}
	s.faults.mu.Lock()
	s.faults.list = append(s.faults.list, rec)
	s.faults.mu.Unlock()
	return func() {
		s.faults.mu.Lock()
		defer s.faults.mu.Unlock()
		for i, r := range s.faults.list {
			if r == rec {
				s.faults.list = append(s.faults.list[:i:i], s.faults.list[i+1:]...)
				return
			}
		}
	}
}

// match returns the fault to apply to rc, if any, counting the request
// against every fault it matches.
func (fs *faultSet) match(rc *reqCtx, mailbox string) *Fault {
	path := strings.ToLower(rc.r.URL.Path)
	upn := ""
	if rc.user != nil {
		upn = rc.user.u.UPN
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var fire *Fault
	for _, r := range fs.list {
		if !strings.Contains(path, r.route) || r.f.Method != "" && !strings.EqualFold(r.f.Method, rc.r.Method) {
			continue
		}
		if r.f.Mailbox != "" && !strings.EqualFold(r.f.Mailbox, mailbox) && !strings.EqualFold(r.f.Mailbox, upn) {
			continue
		}
		if r.f.Times > 0 && r.fired >= r.f.Times {
			continue
		}
		r.seen++
		if r.seen <= r.f.Skip || fire != nil {
			continue
		}
		r.fired++
		f := r.f
		fire = &f
	}
	return fire
}
