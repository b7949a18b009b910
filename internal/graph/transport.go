package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/m365link/m365link"
)

// Timeouts bounds the waits of one attempt, whatever *http.Client sends it.
// The zero value means the defaults. A timeout ends the attempt with an
// error matching [m365link.ErrUnavailable], retried like a dropped connection.
type Timeouts struct {
	// Header bounds the wait for the response headers once the request is
	// sent (the mailbox slot and the token are obtained before); default 60 s.
	Header time.Duration
	// Idle bounds one read of the response body that brings nothing: a body
	// that keeps arriving, however slowly, is not cut; default 60 s.
	Idle time.Duration
}

func (t Timeouts) withDefaults() Timeouts {
	if t.Header <= 0 {
		t.Header = time.Minute
	}
	if t.Idle <= 0 {
		t.Idle = time.Minute
	}
	return t
}

// DefaultMaxResponseBytes is the default cap on a response body, counted
// after decompression. A delta page is at most a few megabytes.
const DefaultMaxResponseBytes = 32 << 20

// ErrResponseTooLarge is matched by the error for a response body longer
// than [Config].MaxResponseBytes after decompression. It also matches
// [m365link.ErrMalformedResponse], but unlike other malformed answers it is
// not retried: the same request would bring the same body.
var ErrResponseTooLarge = errors.New("m365link: response body over the size limit")

var (
	errNoHeaders = errors.New("no response headers")
	errStalled   = errors.New("response body stalled")
)

// send sends r through do under the header timeout and returns the
// response with its body guarded by the idle deadline and, when limit > 0,
// the size cap. The attempt's context ends when the body is closed.
//
// Cancelling the request's context once headers arrived would cut the body
// short, so the header deadline is a timer that cancels only while the
// headers are awaited, and the idle deadline one that runs only while a read
// is blocked.
func send(r *http.Request, do func(*http.Request) (*http.Response, error), t Timeouts, limit int64) (*http.Response, error) {
	parent := r.Context()
	ctx, stop := context.WithCancelCause(parent)
	headers := time.AfterFunc(t.Header, func() { stop(errNoHeaders) })
	resp, err := do(r.WithContext(ctx))
	headers.Stop()
	if err != nil || ctx.Err() != nil {
		// The header timer may fire just as headers arrive: the body is
		// cut off then, so the attempt has failed either way.
		if resp != nil {
			resp.Body.Close()
		}
		stop(nil)
		switch {
		case parent.Err() != nil:
			return nil, parent.Err()
		case errors.Is(context.Cause(ctx), errNoHeaders):
			return nil, fmt.Errorf("%w within %v", errNoHeaders, t.Header)
		}
		return nil, err
	}
	b := &guardedBody{body: resp.Body, ctx: ctx, stop: stop, idle: t.Idle, limit: limit, size: resp.ContentLength,
		method: r.Method, url: r.URL}
	b.timer = time.AfterFunc(t.Idle, func() { stop(errStalled) })
	b.timer.Stop()
	resp.Body = b
	return resp, nil
}

// guardedBody is a response body under the idle deadline and the size cap.
// It holds the attempt's context (as an http.Request does) so that a stall
// can be told from the caller's cancellation.
type guardedBody struct {
	body   io.ReadCloser
	ctx    context.Context
	stop   context.CancelCauseFunc
	idle   time.Duration
	timer  *time.Timer // stops the attempt when a read brings nothing for idle
	limit  int64       // 0: no cap
	size   int64       // Content-Length, -1 when unknown
	method string
	url    *url.URL

	n   int64 // bytes read
	err error // sticky: a refused or cut body stays so
}

func (b *guardedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.limit > 0 {
		if b.size > b.limit {
			b.err = b.tooLarge()
			return 0, b.err
		}
		// One byte past the cap tells a body of exactly limit bytes from a longer one.
		if room := b.limit - b.n + 1; int64(len(p)) > room {
			p = p[:room]
		}
	}
	b.timer.Reset(b.idle)
	n, err := b.body.Read(p)
	b.timer.Stop()
	b.n += int64(n)
	if b.limit > 0 && b.n > b.limit {
		b.err = b.tooLarge()
		return n - int(b.n-b.limit), b.err
	}
	if err != nil && err != io.EOF {
		switch {
		case errors.Is(context.Cause(b.ctx), errStalled):
			err = fmt.Errorf("%w: no data for %v", errStalled, b.idle)
		case b.ctx.Err() != nil:
			// The caller's context ended: report it as such, not as a dropped connection.
			err = b.ctx.Err()
		}
		b.err = err
	}
	return n, err
}

// Close closes the body and ends the attempt's context.
func (b *guardedBody) Close() error {
	b.timer.Stop()
	err := b.body.Close()
	b.stop(nil)
	return err
}

func (b *guardedBody) tooLarge() error {
	return &tooLargeError{method: b.method, path: b.url.EscapedPath(), limit: b.limit}
}

// tooLargeError is a body refused for its size. Its text names the method
// and path only: the query may carry delta tokens.
type tooLargeError struct {
	method, path string
	limit        int64
}

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("m365link: graph %s %s: response body over the size limit of %d bytes", e.method, e.path, e.limit)
}

func (e *tooLargeError) Is(target error) bool {
	return target == ErrResponseTooLarge || target == m365link.ErrMalformedResponse
}

// refuseRedirects is the CheckRedirect of the client's own requests: they
// carry a bearer token and Graph never redirects them, so a redirect is
// handed back (and refused by the caller) instead of followed.
func refuseRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// sameOriginRedirects is the CheckRedirect of [Client.HTTPClient]: a redirect
// is followed (at most 10) only within the exact origin (scheme, host and
// port) of the first request; any other is handed back to the caller.
func sameOriginRedirects(r *http.Request, via []*http.Request) error {
	if len(via) >= 10 || originOf(r.URL) != originOf(via[0].URL) {
		return http.ErrUseLastResponse
	}
	return nil
}

// isRedirect reports whether status asks the client to go elsewhere
// (304 Not Modified does not).
func isRedirect(status int) bool {
	return status >= 300 && status < 400 && status != http.StatusNotModified
}

// redirectError is the error for a redirect answer to the client's own
// request. It names the target's origin only, never its path or query.
func redirectError(method string, target *url.URL, resp *http.Response) error {
	to := "a missing or unparsable Location"
	if loc, err := resp.Location(); err == nil {
		to = originOf(loc)
	}
	return fmt.Errorf("%w: graph %s %s answered %d, a redirect to %s, which is never followed",
		m365link.ErrUntrustedLink, method, target.EscapedPath(), resp.StatusCode, to)
}
