package graph

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/m365link/m365link"
)

// DefaultBaseURL is the Graph v1.0 endpoint of the global cloud. National
// clouds have their own (https://graph.microsoft.us/v1.0,
// https://dod-graph.microsoft.us/v1.0, https://microsoftgraph.chinacloudapi.cn/v1.0).
const DefaultBaseURL = "https://graph.microsoft.com/v1.0"

// preferImmutableID makes Graph return immutable IDs, which survive moves
// between folders. It applies per request, so it goes on every one.
const preferImmutableID = `IdType="ImmutableId"`

// TokenSource supplies access tokens for one account. It is the shape of
// the tokens package's source (a context, unlike oauth2.TokenSource) and must
// be safe for concurrent use. Errors it returns (such as a
// [m365link.ReconnectError]) are passed through wrapped, never retried here.
type TokenSource interface {
	Token(ctx context.Context) (*oauth2.Token, error)
}

// TokenSourceFunc adapts a function to [TokenSource].
type TokenSourceFunc func(ctx context.Context) (*oauth2.Token, error)

// Token calls f.
func (f TokenSourceFunc) Token(ctx context.Context) (*oauth2.Token, error) { return f(ctx) }

// FromOAuth2 adapts an oauth2.TokenSource, which takes no context.
func FromOAuth2(ts oauth2.TokenSource) TokenSource {
	return TokenSourceFunc(func(context.Context) (*oauth2.Token, error) { return ts.Token() })
}

// Config configures a [Client]. The zero value talks to global Graph v1.0.
type Config struct {
	// BaseURL is the Graph root including the version, e.g. DefaultBaseURL.
	BaseURL string
	// HTTPClient sends the requests; nil means a client with a transport
	// tuned for many mailboxes (keep-alive connections per concurrent request).
	// Its Timeout, if any, bounds one attempt. It is copied, not changed: the
	// copy follows no redirect whatever CheckRedirect says, since requests
	// carry a bearer token and Graph never redirects them; a redirect answer
	// is an error matching [m365link.ErrUntrustedLink], not retried, its body
	// unread.
	HTTPClient *http.Client
	// Timeouts bound the wait for headers and each stalled body read of an
	// attempt, also with a caller's HTTPClient; zero fields take the defaults.
	Timeouts Timeouts
	// MaxResponseBytes caps a response body the client reads, counted after
	// the transport decompressed it (a gzip bomb is cut at the cap); default
	// [DefaultMaxResponseBytes]. A longer body is an error matching
	// [ErrResponseTooLarge], not retried. It also caps the bodies [Client.Do]
	// hands out (reads past the cap fail), not those of [Client.HTTPClient].
	MaxResponseBytes int64
	// Limits paces each mailbox; zero fields take the defaults.
	Limits Limits
	// Retry bounds retries; zero fields take the defaults.
	Retry RetryPolicy
	// Logger receives retry and throttle events (never tokens); nil discards.
	Logger *slog.Logger
	// UserAgent is sent as User-Agent; default "m365link".
	UserAgent string
	// OnResponse, if set, is called after every attempt with the request's
	// mailbox and the HTTP status (0 when no response arrived), so callers
	// can count requests and throttling answers. It must be fast.
	OnResponse func(mailbox string, status int)
	// OnRetry, if set, is called before every wait between attempts with
	// the request's mailbox, the attempt that failed (1-based), the wait
	// and its cause. It must be fast.
	OnRetry func(mailbox string, attempt int, wait time.Duration, cause error)

	clock clock // nil = real time; tests replace it
}

// Client is the one HTTP layer between the library and Graph. It adds the
// bearer token, Prefer: IdType="ImmutableId" and a client-request-id to every
// request, paces each mailbox, retries what can be retried, turns error
// answers into *[m365link.GraphError], and follows paging links only within
// the configured origin. It is safe for concurrent use; share one per
// process so every package's calls count against the same mailbox limits.
type Client struct {
	base    *url.URL
	origin  string
	hc      *http.Client
	limiter *Limiter
	retry   RetryPolicy
	timeout Timeouts
	maxBody int64
	log     *slog.Logger
	ua      string
	clock   clock
	observe func(mailbox string, status int)
	onRetry func(mailbox string, attempt int, wait time.Duration, cause error)
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	raw := cfg.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" || base.User != nil || base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("graph: base URL %q must be an absolute http(s) URL without credentials, query or fragment", raw)
	}
	if base.Scheme != "https" && base.Scheme != "http" {
		return nil, fmt.Errorf("graph: base URL %q must use https", raw)
	}
	c := &Client{
		base:    base,
		origin:  originOf(base),
		hc:      &http.Client{Transport: DefaultTransport()},
		retry:   cfg.Retry.withDefaults(),
		timeout: cfg.Timeouts.withDefaults(),
		maxBody: cfg.MaxResponseBytes,
		log:     cfg.Logger,
		ua:      cfg.UserAgent,
		clock:   cfg.clock,
		observe: cfg.OnResponse,
		onRetry: cfg.OnRetry,
	}
	if c.clock == nil {
		c.clock = realClock{}
	}
	if cfg.HTTPClient != nil {
		hc := *cfg.HTTPClient
		c.hc = &hc
	}
	c.hc.CheckRedirect = refuseRedirects
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxResponseBytes
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.ua == "" {
		c.ua = "m365link"
	}
	c.limiter = newLimiter(cfg.Limits, c.clock)
	return c, nil
}

// DefaultTransport returns the transport a Client uses when given no HTTP
// client: a clone of http.DefaultTransport keeping a warm connection per
// concurrent request (256 idle per host, 512 in all), HTTP/2 tried.
func DefaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// One warm connection per concurrent request: 4 per mailbox, many
	// mailboxes on one host (PERFORMANCE.md); the default keeps 2.
	t.MaxIdleConnsPerHost = 256
	t.MaxIdleConns = 512
	t.ForceAttemptHTTP2 = true
	return t
}

// BaseURL returns the configured Graph root, e.g. "https://graph.microsoft.com/v1.0".
func (c *Client) BaseURL() string { return c.base.String() }

// Limiter returns the per-mailbox limiter the client paces with.
func (c *Client) Limiter() *Limiter { return c.limiter }

// Request describes one logical Graph call; the client may send it more
// than once.
type Request struct {
	// Method defaults to GET.
	Method string
	// Path is relative to the base URL ("/users/{id}/mailFolders/inbox");
	// build it with [Path] so IDs are escaped. Alternatively URL is an
	// absolute link from Graph (a nextLink or deltaLink), followed as given
	// after checking its origin.
	Path  string
	URL   string
	Query url.Values
	// Header carries extra headers. Prefer values are added to Prefer:
	// IdType="ImmutableId", which is always sent.
	Header http.Header
	// Body is sent as JSON (a []byte is sent as is).
	Body any
	// Mailbox is the limiter key: the mailbox's user ID (or UPN, but always
	// the same one for a mailbox; case does not matter). "" for calls not
	// scoped to a mailbox (directory reads).
	Mailbox string
	// Weight is the number of concurrency slots the call takes (a $batch
	// to one mailbox: up to 4); default 1.
	Weight int
	// Idempotent marks a non-GET call as safe to resend after a dropped
	// connection or a 504 (GETs always are).
	Idempotent bool
	// Recheck, if set, makes a call that is not idempotent (a create)
	// retryable like one that is: before each resend, after the wait, it
	// finds out whether an earlier attempt took effect although its answer
	// was lost (a 5xx, even a 503, or a dropped connection). When it
	// reports done, the call ends with Recheck's error (nil: success, the
	// caller has what it needs) instead of sending again.
	Recheck func(ctx context.Context) (done bool, err error)
	// Once sends the call a single time, not even retried after a 429 or
	// 503 (whose Retry-After still throttles the mailbox): for a call whose
	// outcome the caller settles itself, such as a mail send that a
	// gateway may answer 503 after Graph accepted it.
	Once bool
	// External allows URL to be outside the Graph origin: a pre-authorised
	// link Graph handed out (an upload session's uploadUrl). It must be
	// https (or http when the base URL is, for a local fake) and the call
	// must carry no Token: credentials never leave the Graph origin.
	External bool
	// Token authenticates the call; nil sends no Authorization header.
	Token TokenSource
	// Observe, if set, is called after every attempt of this call with the
	// HTTP status (0 when no response arrived), as Config.OnResponse is for
	// every call: a package counts its own requests on a shared client.
	Observe func(status int)
}

// Path joins segments into a request path, escaping each one, so IDs with
// "/", "+" or "=" stay single segments: Path("users", id, "messages").
func Path(segments ...string) string {
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// Do sends req with retries and returns the successful response; the caller
// reads and closes its body. The body is read under the idle timeout and
// size cap: a read past [Config].MaxResponseBytes fails with
// [ErrResponseTooLarge]. Use [Client.JSON] or [GetPage] when the body is
// JSON, so that a truncated or stalled body is retried too.
func (c *Client) Do(ctx context.Context, req *Request) (*http.Response, error) {
	var out *http.Response
	err := c.call(ctx, req, func(resp *http.Response) error {
		out = resp
		return nil
	})
	return out, err
}

// JSON sends req and decodes the JSON answer into out (nil discards it).
func (c *Client) JSON(ctx context.Context, req *Request, out any) error {
	return c.call(ctx, req, func(resp *http.Response) error {
		return readJSON(resp, c.maxBody, func(b []byte) error {
			if out == nil || len(b) == 0 {
				return nil
			}
			if err := jsonUnmarshal(b, out); err != nil {
				return fmt.Errorf("%w: %v", m365link.ErrMalformedResponse, err)
			}
			return nil
		})
	})
}

// bufs recycles response buffers: delta pages are ~1 MB each and arrive
// continuously during a sync. A bounded free list, not a sync.Pool: a pool
// keeps a buffer per P and is emptied by garbage collection, so a page
// read on another P, or after two collections, grew a new buffer from
// nothing (about a tenth of an initial sync's CPU). At most cap(bufs)
// buffers of up to 8 MB stay idle.
var bufs = make(chan *bytes.Buffer, 4)

// readJSON reads the whole body (at most limit bytes, which the body
// enforces) into a recycled buffer and hands it to decode. decode must not
// retain the bytes. A body cut short or stalled is a transport error
// (retried), not a decode error; a body over the cap is refused as is.
func readJSON(resp *http.Response, limit int64, decode func([]byte) error) error {
	var buf *bytes.Buffer
	select {
	case buf = <-bufs:
	default:
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	defer func() {
		if buf.Cap() <= 8<<20 {
			select {
			case bufs <- buf:
			default:
			}
		}
	}()
	if resp.ContentLength > 0 && resp.ContentLength <= limit {
		buf.Grow(int(resp.ContentLength))
	}
	_, err := buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		if errors.Is(err, ErrResponseTooLarge) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		op := "read body"
		if r := resp.Request; r != nil {
			op = r.Method + " " + r.URL.EscapedPath() + " body"
		}
		return &transportError{op: op, err: err}
	}
	return decode(buf.Bytes())
}

// call runs the retry loop around one logical request. handle consumes a
// 2xx response (and closes its body unless it hands the response to the
// caller); its errors decide retries like transport errors do.
func (c *Client) call(ctx context.Context, req *Request, handle func(*http.Response) error) error {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	target, err := c.target(req)
	if err != nil {
		return err
	}
	var body []byte
	switch b := req.Body.(type) {
	case nil:
	case []byte:
		body = b
	default:
		if body, err = jsonMarshal(b); err != nil {
			return fmt.Errorf("graph: encode request body: %w", err)
		}
	}
	idempotent := req.Idempotent || req.Recheck != nil || method == http.MethodGet || method == http.MethodHead
	crid := newRequestID()
	start := c.clock.Now()
	for attempt := 1; ; attempt++ {
		err := c.attempt(ctx, req, method, target, body, crid, handle)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			if errors.Is(err, ctx.Err()) {
				return err
			}
			return errors.Join(ctx.Err(), err)
		}
		var ge *m365link.GraphError
		throttled := req.Mailbox != "" && errors.As(err, &ge) && (ge.StatusCode == 429 || ge.StatusCode == 503)
		if throttled && ge.RetryAfter > 0 {
			// Throttling is per mailbox: hold every caller for it, not just
			// this one — also when this call gives up rather than wait.
			c.limiter.Throttle(req.Mailbox, c.clock.Now().Add(max(ge.RetryAfter, c.retry.MinRetryAfter)))
		}
		retry, always := retryable(err)
		if !retry || req.Once || !idempotent && !always || attempt >= c.retry.MaxAttempts {
			return err
		}
		wait := c.retry.wait(err, attempt)
		if c.clock.Now().Add(wait).Sub(start) > c.retry.MaxElapsed {
			return err
		}
		if throttled {
			c.limiter.Throttle(req.Mailbox, c.clock.Now().Add(wait))
		}
		if c.onRetry != nil {
			c.onRetry(req.Mailbox, attempt, wait, err)
		}
		c.log.LogAttrs(ctx, slog.LevelDebug, "graph: retrying",
			slog.String("method", method), slog.String("path", target.EscapedPath()),
			slog.String("mailbox", req.Mailbox), slog.Int("attempt", attempt),
			slog.Duration("wait", wait), slog.String("error", err.Error()))
		if err := c.clock.Sleep(ctx, wait); err != nil {
			return err
		}
		if req.Recheck != nil {
			if done, err := req.Recheck(ctx); done || err != nil {
				return err
			}
		}
	}
}

func (c *Client) attempt(ctx context.Context, req *Request, method string, target *url.URL, body []byte, crid string, handle func(*http.Response) error) error {
	var release func()
	if req.Mailbox != "" {
		r, err := c.limiter.Acquire(ctx, req.Mailbox, req.Weight)
		if err != nil {
			return err
		}
		release = r
		defer release()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hr, err := http.NewRequestWithContext(ctx, method, target.String(), rd)
	if err != nil {
		return fmt.Errorf("graph: build request: %w", err)
	}
	// NewRequest re-parses the URL; keep the link exactly as Graph gave it.
	hr.URL = target
	for k, vs := range req.Header {
		if http.CanonicalHeaderKey(k) == "Prefer" {
			continue
		}
		hr.Header[http.CanonicalHeaderKey(k)] = vs
	}
	hr.Header.Set("Prefer", preferImmutableID)
	for _, v := range req.Header.Values("Prefer") {
		hr.Header.Add("Prefer", v)
	}
	hr.Header.Set("client-request-id", crid)
	hr.Header.Set("return-client-request-id", "true")
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", c.ua)
	if body != nil && hr.Header.Get("Content-Type") == "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	if req.Token != nil {
		tok, err := req.Token.Token(ctx)
		if err != nil {
			return fmt.Errorf("graph: token: %w", err)
		}
		if tok == nil || tok.AccessToken == "" {
			// Never send a request without the credential it was meant to carry.
			return errors.New("graph: token: the token source returned no access token")
		}
		hr.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	}
	resp, err := send(hr, c.hc.Do, c.timeout, c.maxBody)
	if c.observe != nil || req.Observe != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		if c.observe != nil {
			c.observe(req.Mailbox, status)
		}
		if req.Observe != nil {
			req.Observe(status)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &transportError{op: method + " " + target.EscapedPath(), err: unwrapURLError(err)}
	}
	if isRedirect(resp.StatusCode) {
		resp.Body.Close()
		return redirectError(method, target, resp)
	}
	if err := CheckResponse(resp, c.clock.Now()); err != nil {
		var ge *m365link.GraphError
		if errors.As(err, &ge) {
			ge.RetryAfter = c.capRetryAfter(ctx, ge.RetryAfter, req.Mailbox, method, target.EscapedPath())
		}
		return err
	}
	return handle(resp)
}

// unwrapURLError drops *url.Error's URL, whose query can carry delta tokens.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// target resolves req to the URL to send, enforcing the origin rule for
// absolute links.
func (c *Client) target(req *Request) (*url.URL, error) {
	if req.URL != "" && req.External {
		return c.checkExternal(req)
	}
	if req.URL != "" {
		u, err := c.checkLink(req.URL)
		if err != nil {
			return nil, err
		}
		if len(req.Query) > 0 {
			return nil, errors.New("graph: a link already carries its query; Query must be empty")
		}
		return u, nil
	}
	if !strings.HasPrefix(req.Path, "/") {
		return nil, fmt.Errorf("graph: request path %q must start with /", req.Path)
	}
	u := *c.base
	p, err := url.PathUnescape(req.Path)
	if err != nil {
		return nil, fmt.Errorf("graph: request path: %w", err)
	}
	u.Path = c.base.Path + p
	u.RawPath = c.base.EscapedPath() + req.Path
	if len(req.Query) > 0 {
		u.RawQuery = encodeQuery(req.Query)
	}
	return &u, nil
}

// checkLink parses a link from Graph and accepts it only as an absolute URL
// without credentials on the client's origin. Its errors name the link's
// origin only: the query carries skip and delta tokens.
func (c *Client) checkLink(link string) (*url.URL, error) {
	u, err := url.Parse(link)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: unparsable link", m365link.ErrUntrustedLink)
	case !u.IsAbs():
		return nil, fmt.Errorf("%w: relative link", m365link.ErrUntrustedLink)
	case u.User != nil:
		return nil, fmt.Errorf("%w: link with credentials", m365link.ErrUntrustedLink)
	case originOf(u) != c.origin:
		return nil, fmt.Errorf("%w: %s is not %s", m365link.ErrUntrustedLink, originOf(u), c.origin)
	}
	return u, nil
}

// checkExternal accepts an external link for a call without credentials.
// Its errors name the link's origin only: the query carries its
// authorisation.
func (c *Client) checkExternal(req *Request) (*url.URL, error) {
	u, err := url.Parse(req.URL)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: unparsable link", m365link.ErrUntrustedLink)
	case !u.IsAbs() || u.Host == "":
		return nil, fmt.Errorf("%w: relative link", m365link.ErrUntrustedLink)
	case u.User != nil:
		return nil, fmt.Errorf("%w: link with credentials", m365link.ErrUntrustedLink)
	case u.Scheme != "https" && !(u.Scheme == "http" && c.base.Scheme == "http"):
		return nil, fmt.Errorf("%w: %s is not https", m365link.ErrUntrustedLink, originOf(u))
	case req.Token != nil:
		return nil, fmt.Errorf("%w: credentials are not sent to %s", m365link.ErrUntrustedLink, originOf(u))
	case len(req.Query) > 0:
		return nil, errors.New("graph: a link already carries its query; Query must be empty")
	}
	return u, nil
}

// encodeQuery is url.Values.Encode, but leaves "$" and "," readable: Graph
// takes "$select=a,b" and logs read better without "%24".
func encodeQuery(v url.Values) string {
	s := v.Encode()
	s = strings.ReplaceAll(s, "%24", "$")
	return strings.ReplaceAll(s, "%2C", ",")
}

// originOf returns scheme://host[:port] lower-cased, with default ports
// dropped, so equal origins compare equal.
func originOf(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		port = ""
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host
}

// newRequestID returns a random UUID (version 4) for client-request-id. The
// same ID is kept across the retries of one call so support can follow it.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// transportError is a request that got no usable answer: connection
// refused or reset, a body cut short. It matches [m365link.ErrUnavailable].
// Its text names the method and path only: the query may carry delta tokens.
type transportError struct {
	op  string
	err error
}

func (e *transportError) Error() string { return "m365link: graph " + e.op + ": " + e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }
func (e *transportError) Is(target error) bool {
	return target == m365link.ErrUnavailable
}

// HTTPClient returns a plain *http.Client on the client's transport that
// adds Prefer: IdType="ImmutableId" and a client-request-id when missing,
// paces requests by the mailbox named in the URL (/users/{id}/…) through the
// shared limiter, and records 429/503 Retry-After (capped by
// [RetryPolicy].MaxRetryAfter) as a throttle for that mailbox. It neither
// authenticates nor retries: it is for msgraph-sdk-go, which brings its own
// auth provider and retry handler, so that its calls and the library's share
// one set of mailbox limits.
//
// It keeps the client's [Timeouts] but not its size cap (the SDK downloads
// attachments through it). It follows a redirect only within the exact
// origin (scheme, host and port) of the request, and hands any other back
// unfollowed; and it never sends an Authorization header to an origin other
// than the client's: such a request fails with [m365link.ErrUntrustedLink]
// before anything is sent.
func (c *Client) HTTPClient() *http.Client { return c.HTTPClientAs("") }

// HTTPClientAs is [Client.HTTPClient] for one delegated user's calls: a
// request under /me, which names no user in its path, is paced as the
// mailbox me (the user's ID, as the library's own requests for that
// mailbox name it). With me empty it is HTTPClient.
func (c *Client) HTTPClientAs(me string) *http.Client {
	return &http.Client{Transport: &pacedTransport{c: c, base: c.hc.Transport, me: strings.ToLower(me)}, Timeout: c.hc.Timeout,
		CheckRedirect: sameOriginRedirects}
}

type pacedTransport struct {
	c    *Client
	base http.RoundTripper
	me   string // the mailbox of paths under /me; "" for none
}

func (t *pacedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	if r.Header.Get("Authorization") != "" && originOf(r.URL) != t.c.origin {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, fmt.Errorf("%w: credentials are not sent to %s", m365link.ErrUntrustedLink, originOf(r.URL))
	}
	r = r.Clone(r.Context())
	if !strings.Contains(strings.Join(r.Header.Values("Prefer"), ","), "IdType") {
		r.Header.Add("Prefer", preferImmutableID)
	}
	if r.Header.Get("client-request-id") == "" {
		r.Header.Set("client-request-id", newRequestID())
	}
	mailbox := MailboxFromPath(r.URL.EscapedPath())
	if mailbox == "" && t.me != "" && t.c.underMe(r.URL) {
		mailbox = t.me
	}
	if mailbox == "" {
		return send(r, base.RoundTrip, t.c.timeout, 0)
	}
	release, err := t.c.limiter.Acquire(r.Context(), mailbox, 1)
	if err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	resp, err := send(r, base.RoundTrip, t.c.timeout, 0)
	if err != nil {
		release()
		return nil, err
	}
	if resp.StatusCode == 429 || resp.StatusCode == 503 {
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), t.c.clock.Now()); ok {
			d = t.c.capRetryAfter(r.Context(), d, mailbox, r.Method, r.URL.EscapedPath())
			t.c.limiter.Throttle(mailbox, t.c.clock.Now().Add(max(d, t.c.retry.MinRetryAfter)))
		}
	}
	resp.Body = &releaseOnClose{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// underMe reports whether u is the signed-in user's resource: /me or a
// path under it, right after the base path (/v1.0/me/messages).
func (c *Client) underMe(u *url.URL) bool {
	rest := strings.ToLower(u.EscapedPath())
	base := strings.ToLower(c.base.EscapedPath())
	if !strings.HasPrefix(rest, base) {
		return false
	}
	rest = rest[len(base):]
	return rest == "/me" || strings.HasPrefix(rest, "/me/")
}

// releaseOnClose keeps the mailbox slot until the body is closed: a
// response being read is a request in flight for Outlook.
type releaseOnClose struct {
	io.ReadCloser
	release func()
}

func (r *releaseOnClose) Close() error {
	err := r.ReadCloser.Close()
	r.release()
	return err
}

// MailboxFromPath returns the user segment of a Graph path
// (".../users/{id}/..." or ".../users('{id}')/..."), lower-cased, or "" when
// the path names no user.
func MailboxFromPath(p string) string {
	lp := strings.ToLower(p)
	i := strings.Index(lp, "/users/")
	var rest string
	if i >= 0 {
		rest = p[i+len("/users/"):]
	} else if i = strings.Index(lp, "/users("); i >= 0 {
		rest = p[i+len("/users"):]
	} else {
		return ""
	}
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		rest = rest[:j]
	}
	rest = strings.TrimSuffix(strings.TrimPrefix(rest, "("), ")")
	rest = strings.Trim(rest, "'")
	if s, err := url.PathUnescape(rest); err == nil {
		rest = s
	}
	rest = strings.Trim(rest, "'")
	return strings.ToLower(rest)
}
