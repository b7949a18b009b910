package fakegraph

import (
	"bytes"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is a running fake of Microsoft Graph v1.0. The zero configuration
// is useful: [New] with no options serves an empty directory, enforces no
// limits and pages by 10. All methods are safe for concurrent use.
type Server struct {
	ts  *httptest.Server
	cfg config

	mu         sync.Mutex // guards the model below
	dirN       uint64     // counter for directory object IDs
	tenants    []*Tenant
	tenantByID map[string]*Tenant
	users      []*userRec
	userByKey  map[string]*userRec // lower-cased ID and UPN
	groups     []*groupRec
	groupByID  map[string]*groupRec

	auth     atomic.Pointer[authHooks]
	reqN     atomic.Uint64 // request-id counter
	tokenKey uint64        // keys the token checksum

	acct   accounting
	faults faultSet
	subs   subState // change notifications (subscriptions.go)

	cal  calendarState // calendar_write.go, availability.go, places.go; guarded by mu
	mail mailState     // drafts' extras, upload sessions, deliveries; guarded by mu
}

type userRec struct {
	u  User
	mb *mailbox // nil unless MailEnabled
}

type groupRec struct {
	g       Group
	members []string // user or group IDs
}

type authHooks struct {
	valid    func(token string, r *http.Request) bool
	tenantOf func(token string, r *http.Request) string
	userOf   func(token string, r *http.Request) string
}

// Option configures a [Server].
type Option func(*config)

type config struct {
	listener net.Listener // nil: a new loopback port
	limits   *Limits
	clock    func() time.Time
	pageSize int
	deltaCap int
}

// Limits are the per-mailbox limits of Outlook on Graph. Zero fields take
// Outlook's values: 4 concurrent requests and 10,000 requests per 10
// minutes.
type Limits struct {
	// MaxConcurrent is the number of requests one mailbox may have in
	// flight; the next one is refused with 429 MailboxConcurrency.
	MaxConcurrent int
	// Requests is the budget per Window (a fixed window that opens at the
	// mailbox's first request); beyond it requests are refused with 429
	// ApplicationThrottled until the window ends.
	Requests int
	Window   time.Duration
	// RetryAfter, when set, is the Retry-After sent with every 429 the
	// limits produce (rounded up to whole seconds). Otherwise a
	// concurrency 429 says 1 second and a budget 429 the time left in the
	// window.
	RetryAfter time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MaxConcurrent <= 0 {
		l.MaxConcurrent = 4
	}
	if l.Requests <= 0 {
		l.Requests = 10000
	}
	if l.Window <= 0 {
		l.Window = 10 * time.Minute
	}
	return l
}

// WithLimits enforces per-mailbox limits. Without it the fake never
// throttles on its own (but still counts requests in flight, see
// [Server.Stats]).
func WithLimits(l Limits) Option {
	return func(c *config) {
		l = l.withDefaults()
		c.limits = &l
	}
}

// WithClock sets the clock used for the rate window, error dates and
// default timestamps of items added without one. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.clock = now }
}

// WithMaxPageSize sets the page size used when a request carries no
// Prefer: odata.maxpagesize and no $top (default 10, as Graph's message
// lists). Prefer values are capped at 1000.
func WithMaxPageSize(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.pageSize = n
		}
	}
}

// WithFilteredDeltaCap sets how many messages a receivedDateTime-filtered
// messages delta round returns before it silently ends with a deltaLink as
// if it were complete, as Graph does at 5,000 (the default).
func WithFilteredDeltaCap(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.deltaCap = n
		}
	}
}

func newServer(opts []Option) *Server {
	s := &Server{
		cfg:        config{clock: time.Now, pageSize: 10, deltaCap: 5000},
		tenantByID: map[string]*Tenant{},
		userByKey:  map[string]*userRec{},
		groupByID:  map[string]*groupRec{},
		tokenKey:   0x6d3336356c696e6b,
	}
	for _, o := range opts {
		o(&s.cfg)
	}
	s.acct.init()
	return s
}

// WithListener serves the fake on ln instead of a new loopback port: a
// program that restarts its fake on the same address keeps the delta links
// it saved valid (the fake's data, IDs and tokens are deterministic).
func WithListener(ln net.Listener) Option {
	return func(c *config) { c.listener = ln }
}

// New starts a fake on a loopback http:// address.
func New(opts ...Option) *Server {
	s := newServer(opts)
	s.ts = s.unstarted()
	s.ts.Start()
	return s
}

// unstarted makes the test server, on the configured listener if any.
func (s *Server) unstarted() *httptest.Server {
	ts := httptest.NewUnstartedServer(s)
	if s.cfg.listener != nil {
		ts.Listener.Close()
		ts.Listener = s.cfg.listener
	}
	return ts
}

// NewTLS starts a fake on a loopback https:// address with a self-signed
// certificate that [Server.Client] trusts.
func NewTLS(opts ...Option) *Server {
	s := newServer(opts)
	s.ts = s.unstarted()
	s.ts.Config.ErrorLog = log.New(quietHandshakes{os.Stderr}, "", log.LstdFlags)
	s.ts.StartTLS()
	return s
}

// quietHandshakes drops the server's "TLS handshake error" lines: a
// client's connection still being dialled when a test closes the server
// says nothing about the code under test.
type quietHandshakes struct{ w io.Writer }

func (q quietHandshakes) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("http: TLS handshake error")) {
		return len(p), nil
	}
	return q.w.Write(p)
}

// Close shuts the server down and blocks until all requests have finished
// and no notification is being posted.
func (s *Server) Close() {
	s.ts.Close()
	s.subs.stop()
}

// URL is the Graph base URL, the origin followed by /v1.0.
func (s *Server) URL() string { return s.ts.URL + "/v1.0" }

// Origin is the scheme, host and port of the server, without a path.
func (s *Server) Origin() string { return s.ts.URL }

// Client returns an HTTP client for the server; with [NewTLS] it trusts the
// server's certificate.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Certificate returns the TLS certificate of a server started with
// [NewTLS] (nil for [New]), for a client that must trust this server and
// others.
func (s *Server) Certificate() *x509.Certificate { return s.ts.Certificate() }

// SetTokenValidator installs a check of the bearer token every request must
// carry; a request it refuses gets 401 InvalidAuthenticationToken. Without
// one any non-empty token is accepted. Pass nil to remove it.
func (s *Server) SetTokenValidator(valid func(token string, r *http.Request) bool) {
	s.setAuth(func(h *authHooks) { h.valid = valid })
}

// SetTokenTenant installs a function naming the tenant a token belongs to;
// the directory routes (/users, /groups) then list that tenant only, and a
// user of another tenant is not found. An empty result, or no function,
// means all tenants.
func (s *Server) SetTokenTenant(tenantOf func(token string, r *http.Request) string) {
	s.setAuth(func(h *authHooks) { h.tenantOf = tenantOf })
}

// SetTokenUser installs a function naming the user (object ID or UPN) a
// delegated token acts for; the /me routes then answer for that user. An
// empty result (an app-only token), or no function, makes them answer 400
// as Graph does for a token without a signed-in user.
func (s *Server) SetTokenUser(userOf func(token string, r *http.Request) string) {
	s.setAuth(func(h *authHooks) { h.userOf = userOf })
}

func (s *Server) setAuth(f func(*authHooks)) {
	for {
		old := s.auth.Load()
		h := &authHooks{}
		if old != nil {
			*h = *old
		}
		f(h)
		if s.auth.CompareAndSwap(old, h) {
			return
		}
	}
}

func (s *Server) now() time.Time { return s.cfg.clock() }

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return ""
	}
	return strings.TrimSpace(h[7:])
}
