package graphclient

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/graph"
)

// Config configures a [Client]. The zero value talks to the global cloud
// with the defaults documented on each field.
type Config struct {
	// Cloud says where Graph is; the zero Cloud is [m365link.Global].
	Cloud m365link.Cloud
	// HTTPClient carries the requests; nil uses a client on
	// [DefaultTransport]. A host's client is copied, not changed, and its
	// transport is wrapped, not replaced: authentication, the limiter and
	// retries run around it (use DefaultTransport as its transport to keep
	// the tuned connection pool). The copy follows no redirect: requests
	// carry a bearer token and Graph never redirects them. Its Timeout, if
	// any, bounds one attempt.
	HTTPClient *http.Client
	// Retry bounds the retries of one request; zero fields take the defaults.
	Retry Retry
	// Limits paces each mailbox; zero fields take the defaults.
	Limits Limits
	// Timeouts bound the wait for headers and each stalled body read;
	// zero fields take the defaults.
	Timeouts Timeouts
	// MaxResponseBytes caps a response body, counted after decompression;
	// default 32 MiB. A longer body is refused with an error matching
	// [m365link.ErrMalformedResponse], not retried.
	MaxResponseBytes int64
	// Logger receives retry and throttle events (never tokens or the
	// query of a link); nil discards them.
	Logger *slog.Logger
	// UserAgent is sent as User-Agent; default "m365link".
	UserAgent string
	// OnResponse, if set, is called after every attempt of every request
	// with the mailbox (the user ID or UPN the request names, "" for none)
	// and the HTTP status (0 when no response arrived), for a host's
	// metrics. It must be fast.
	OnResponse func(mailbox string, status int)
	// OnRetry, if set, is called before every wait between two attempts
	// of a request with its mailbox, the attempt that failed (1-based),
	// the wait (what Retry-After asked, or the backoff) and the typed
	// cause: for a host's metrics (see package m365otel). It must be fast.
	OnRetry func(mailbox string, attempt int, wait time.Duration, cause error)
}

// Retry bounds the retries of one Graph request: 429, 500, 502, 503, 504,
// dropped or stalled connections and garbled bodies (a POST only after 429
// and 503, which prove Graph did not act). Zero fields take the defaults.
type Retry struct {
	// MaxAttempts counts the first try; default 10. 1 disables retries.
	MaxAttempts int
	// BaseDelay and MaxDelay bound the exponential backoff with full
	// jitter used when Graph gives no Retry-After; default 250 ms and 8 s.
	BaseDelay, MaxDelay time.Duration
	// MaxElapsed caps the time spent on one request, waits included;
	// default 2 minutes. A longer Retry-After ends the request at once with
	// an error matching [m365link.ErrThrottled] that carries the wait.
	MaxElapsed time.Duration
	// MinRetryAfter and MaxRetryAfter bound what Retry-After is taken to
	// say; default 1 s and 10 minutes (a longer one is logged).
	MinRetryAfter, MaxRetryAfter time.Duration
}

// Limits paces the requests for one mailbox, across every package sharing
// the Client. Zero fields take the defaults.
type Limits struct {
	// Concurrency is the most requests in flight for one mailbox; default
	// 4, Outlook's limit.
	Concurrency int
	// Requests per Window for one mailbox; default 9,500 per 10 minutes,
	// a margin below Outlook's 10,000.
	Requests int
	Window   time.Duration
	// Burst is how many requests may go back to back before the rate
	// applies; default 500.
	Burst int
}

// Timeouts bound the parts of one attempt that a server can stall.
type Timeouts struct {
	// Header bounds the wait for the response headers; default 60 s.
	Header time.Duration
	// Idle bounds one read of the body that brings nothing (a body that
	// keeps arriving, however slowly, is not cut); default 60 s.
	Idle time.Duration
}

// Client is the process's handle to Graph; see the package doc. It is
// safe for concurrent use. Create one per cloud and share it.
type Client struct {
	c     *graph.Client
	cloud m365link.Cloud
}

func init() {
	graph.RegisterHandle(func(h any) *graph.Client {
		if c, ok := h.(*Client); ok && c != nil {
			return c.c
		}
		return nil
	})
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	cloud := cfg.Cloud.OrDefault()
	c, err := graph.New(graph.Config{
		BaseURL:          cloud.GraphBase,
		HTTPClient:       cfg.HTTPClient,
		Timeouts:         graph.Timeouts{Header: cfg.Timeouts.Header, Idle: cfg.Timeouts.Idle},
		MaxResponseBytes: cfg.MaxResponseBytes,
		Limits:           graph.Limits{Concurrency: cfg.Limits.Concurrency, Requests: cfg.Limits.Requests, Window: cfg.Limits.Window, Burst: cfg.Limits.Burst},
		Retry: graph.RetryPolicy{MaxAttempts: cfg.Retry.MaxAttempts, BaseDelay: cfg.Retry.BaseDelay, MaxDelay: cfg.Retry.MaxDelay,
			MaxElapsed: cfg.Retry.MaxElapsed, MinRetryAfter: cfg.Retry.MinRetryAfter, MaxRetryAfter: cfg.Retry.MaxRetryAfter},
		Logger:     cfg.Logger,
		UserAgent:  cfg.UserAgent,
		OnResponse: cfg.OnResponse,
		OnRetry:    cfg.OnRetry,
	})
	if err != nil {
		return nil, fmt.Errorf("graphclient: cloud %s: %w", cloud.Name, err)
	}
	return &Client{c: c, cloud: cloud}, nil
}

// Cloud returns the cloud the client talks to.
func (c *Client) Cloud() m365link.Cloud { return c.cloud }

// ThrottledUntil returns when Graph's throttling of a mailbox (by user ID
// or UPN, as requests name it) ends; zero when it is not throttled.
func (c *Client) ThrottledUntil(mailbox string) time.Time {
	if c == nil || c.c == nil {
		return time.Time{}
	}
	return c.c.Limiter().ThrottledUntil(mailbox)
}

// HTTPClient returns a plain *http.Client on the same transport and
// mailbox limits, for Graph calls the library does not wrap (such as
// msgraph-sdk-go's, through package graphsdk): it paces requests by the
// mailbox their path names, records 429/503 Retry-After as a throttle for
// that mailbox, adds Prefer: IdType="ImmutableId" and a client-request-id,
// follows redirects only within the same origin and never sends an
// Authorization header to another origin. It neither authenticates nor
// retries.
func (c *Client) HTTPClient() *http.Client {
	if c == nil || c.c == nil {
		return nil // not made by New
	}
	return c.c.HTTPClient()
}

// String names the cloud and Graph base.
func (c *Client) String() string {
	if c == nil || c.c == nil {
		return "graphclient.Client{not made by New}"
	}
	return "graphclient.Client{" + c.cloud.Name + " " + c.cloud.GraphBase + "}"
}

// DefaultTransport returns the transport a Client uses when Config has no
// HTTPClient: a clone of http.DefaultTransport that keeps a warm connection
// per concurrent request (256 idle per host, 512 in all) and tries HTTP/2.
// Give a client of your own this transport to keep those settings.
func DefaultTransport() *http.Transport { return graph.DefaultTransport() }
