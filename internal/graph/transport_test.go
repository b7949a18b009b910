package graph

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
)

// These tests run the client against real loopback servers (httptest), with
// timeouts shortened to a fraction of a second: the timers under test are
// the real ones, on the host's own *http.Client.

// served is an httptest server whose handler sees the request number
// (1-based) and can block until the client gives up or the test ends.
type served struct {
	*httptest.Server
	hits atomic.Int32
	done chan struct{}
}

func serve(t *testing.T, tls bool, h func(n int, w http.ResponseWriter, r *http.Request, block func())) *served {
	t.Helper()
	s := &served{done: make(chan struct{})}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(s.hits.Add(1))
		h(n, w, r, func() {
			select {
			case <-r.Context().Done():
			case <-s.done:
			}
		})
	})
	if tls {
		s.Server = httptest.NewTLSServer(handler)
	} else {
		s.Server = httptest.NewServer(handler)
	}
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(s.done) }) // runs first: blocked handlers return
	return s
}

// newServed returns a client for s on s's own *http.Client, fast retries.
func newServed(t *testing.T, s *served, cfg Config) *Client {
	t.Helper()
	cfg.BaseURL = s.URL + "/v1.0"
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = s.Client()
	}
	if cfg.Retry.BaseDelay == 0 {
		cfg.Retry.BaseDelay = time.Millisecond
	}
	cfg.Retry.Backoff = doubling
	c, err := New(cfg)
	require.NoError(t, err)
	return c
}

func pageIDs(p *Page[Message]) []string {
	if p == nil {
		return nil
	}
	var ids []string
	for _, m := range p.Value {
		ids = append(ids, m.ID)
	}
	return ids
}

var msgs = &Request{Path: "/users/u1/messages", Mailbox: "u1", Token: tok}

func TestHeaderTimeout(t *testing.T) {
	slowHeaders := func(n int, w http.ResponseWriter, _ *http.Request, block func()) {
		if n == 1 {
			block()
			return
		}
		fmt.Fprint(w, okBody)
	}
	t.Run("is retried", func(t *testing.T) {
		s := serve(t, false, slowHeaders)
		c := newServed(t, s, Config{Timeouts: Timeouts{Header: 100 * time.Millisecond}})
		page, err := GetPage[Message](t.Context(), c, msgs)
		require.NoError(t, err)
		assert.Equal(t, []string{"m1"}, pageIDs(page))
		assert.Equal(t, int32(2), s.hits.Load())
	})
	t.Run("is unavailable when attempts run out", func(t *testing.T) {
		s := serve(t, false, slowHeaders)
		c := newServed(t, s, Config{Timeouts: Timeouts{Header: 100 * time.Millisecond}, Retry: RetryPolicy{MaxAttempts: 1}})
		_, err := GetPage[Message](t.Context(), c, msgs)
		require.ErrorIs(t, err, m365link.ErrUnavailable)
		assert.Equal(t, "m365link: graph GET /v1.0/users/u1/messages: no response headers within 100ms", err.Error())
		assert.Equal(t, int32(1), s.hits.Load())
	})
}

func TestStalledBody(t *testing.T) {
	stallOnce := func(n int, w http.ResponseWriter, _ *http.Request, block func()) {
		if n == 1 {
			w.Header().Set("Content-Length", strconv.Itoa(len(okBody)))
			fmt.Fprint(w, okBody[:5])
			w.(http.Flusher).Flush()
			block()
			return
		}
		fmt.Fprint(w, okBody)
	}
	t.Run("is retried", func(t *testing.T) {
		s := serve(t, false, stallOnce)
		c := newServed(t, s, Config{Timeouts: Timeouts{Idle: 100 * time.Millisecond}})
		page, err := GetPage[Message](t.Context(), c, msgs)
		require.NoError(t, err)
		assert.Equal(t, []string{"m1"}, pageIDs(page))
		assert.Equal(t, int32(2), s.hits.Load())
	})
	t.Run("is unavailable when attempts run out", func(t *testing.T) {
		s := serve(t, true, stallOnce)
		c := newServed(t, s, Config{Timeouts: Timeouts{Idle: 100 * time.Millisecond}, Retry: RetryPolicy{MaxAttempts: 1}})
		var out struct{ Value []struct{ ID string } }
		err := c.JSON(t.Context(), msgs, &out)
		require.ErrorIs(t, err, m365link.ErrUnavailable)
		assert.Equal(t, "m365link: graph GET /v1.0/users/u1/messages body: response body stalled: no data for 100ms", err.Error())
		assert.Equal(t, int32(1), s.hits.Load())
	})
	t.Run("cuts a body handed out by Do", func(t *testing.T) {
		s := serve(t, false, stallOnce)
		c := newServed(t, s, Config{Timeouts: Timeouts{Idle: 100 * time.Millisecond}})
		resp, err := c.Do(t.Context(), msgs)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		assert.Equal(t, okBody[:5], string(b))
		require.ErrorIs(t, err, errStalled)
	})
}

func TestSlowButSteadyBodyIsNotCut(t *testing.T) {
	// Headers at once, the first byte after twice the header timeout, then a
	// trickle that lasts longer than the idle timeout in all.
	body := `{"value":[{"id":"m1"}],"pad":"` + strings.Repeat("x", 30) + `"}`
	s := serve(t, false, func(_ int, w http.ResponseWriter, _ *http.Request, _ func()) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		time.Sleep(200 * time.Millisecond)
		for i := 0; i < len(body); i += 5 {
			fmt.Fprint(w, body[i:min(i+5, len(body))])
			w.(http.Flusher).Flush()
			time.Sleep(50 * time.Millisecond)
		}
	})
	c := newServed(t, s, Config{Timeouts: Timeouts{Header: 100 * time.Millisecond, Idle: 400 * time.Millisecond}})
	page, err := GetPage[Message](t.Context(), c, msgs)
	require.NoError(t, err)
	assert.Equal(t, []string{"m1"}, pageIDs(page))
	assert.Equal(t, int32(1), s.hits.Load())
}

func TestCallerCancellationIsReportedAsSuch(t *testing.T) {
	for _, phase := range []string{"headers", "body"} {
		t.Run(phase, func(t *testing.T) {
			s := serve(t, false, func(_ int, w http.ResponseWriter, _ *http.Request, block func()) {
				if phase == "body" {
					w.WriteHeader(200)
					fmt.Fprint(w, `{"value":[`)
					w.(http.Flusher).Flush()
				}
				block()
			})
			c := newServed(t, s, Config{Timeouts: Timeouts{Header: 10 * time.Second, Idle: 10 * time.Second}})
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(100*time.Millisecond, cancel)
			_, err := GetPage[Message](ctx, c, msgs)
			assert.Equal(t, context.Canceled, err)
			assert.Equal(t, int32(1), s.hits.Load())
		})
	}
}

// countingTransport counts the body bytes the client took from the
// transport: after decompression, since http.Transport hands out the
// decompressed body when it asked for gzip itself.
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &c.n}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// gzipBomb is 64 MiB of zeros, gzipped (64 gzip members of 1 MiB each,
// which a gzip reader reads as one stream: about 64 KiB on the wire).
var gzipBomb = gosync.OnceValue(func() []byte {
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	_, _ = zw.Write(make([]byte, 1<<20))
	_ = zw.Close()
	return bytes.Repeat(member.Bytes(), 64)
})

func TestOversizedBodyIsRefused(t *testing.T) {
	const limit = 1 << 20
	big := `{"value":[{"id":"m1"}],"pad":"` + strings.Repeat("a", 2*limit) + `"}`
	tests := []struct {
		name   string
		handle func(w http.ResponseWriter)
		read   int64 // body bytes the client read
	}{
		{"Content-Length over the cap: refused unread", func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			fmt.Fprint(w, big)
		}, 0},
		{"chunked: cut one byte past the cap", func(w http.ResponseWriter) {
			w.(http.Flusher).Flush()
			fmt.Fprint(w, big)
		}, limit + 1},
		{"gzip bomb: cut one decoded byte past the cap", func(w http.ResponseWriter) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(gzipBomb())
		}, limit + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := serve(t, false, func(_ int, w http.ResponseWriter, _ *http.Request, _ func()) { tt.handle(w) })
			ct := &countingTransport{base: s.Client().Transport}
			c := newServed(t, s, Config{HTTPClient: &http.Client{Transport: ct}, MaxResponseBytes: limit})
			page, err := GetPage[Message](t.Context(), c, &Request{Path: "/users/u1/messages", Mailbox: "u1",
				Query: map[string][]string{"$deltatoken": {"SECRET"}}})
			assert.Nil(t, page)
			require.ErrorIs(t, err, ErrResponseTooLarge)
			require.ErrorIs(t, err, m365link.ErrMalformedResponse)
			assert.Equal(t, "m365link: graph GET /v1.0/users/u1/messages: response body over the size limit of 1048576 bytes", err.Error())
			assert.Equal(t, int32(1), s.hits.Load(), "not retried: the same request brings the same body")
			assert.Equal(t, tt.read, ct.n.Load())
		})
	}
}

func TestBodyOfExactlyTheCapIsRead(t *testing.T) {
	const limit = 64 << 10
	head := `{"value":[{"id":"m1"}],"pad":"`
	body := head + strings.Repeat("a", limit-len(head)-2) + `"}`
	require.Len(t, body, limit)
	s := serve(t, false, func(_ int, w http.ResponseWriter, _ *http.Request, _ func()) { fmt.Fprint(w, body) })
	c := newServed(t, s, Config{MaxResponseBytes: limit})
	page, err := GetPage[Message](t.Context(), c, msgs)
	require.NoError(t, err)
	assert.Equal(t, []string{"m1"}, pageIDs(page))
}

func TestDoBodyIsCapped(t *testing.T) {
	const limit = 64 << 10
	s := serve(t, false, func(_ int, w http.ResponseWriter, _ *http.Request, _ func()) {
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(gzipBomb())
	})
	c := newServed(t, s, Config{MaxResponseBytes: limit})
	resp, err := c.Do(t.Context(), msgs)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.ErrorIs(t, err, ErrResponseTooLarge)
	assert.Equal(t, make([]byte, limit), b, "the caller gets the cap's worth, then the error")
}

func TestErrorBodyReadIsBounded(t *testing.T) {
	s := serve(t, false, func(_ int, w http.ResponseWriter, _ *http.Request, _ func()) {
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write(gzipBomb())
	})
	ct := &countingTransport{base: s.Client().Transport}
	c := newServed(t, s, Config{HTTPClient: &http.Client{Transport: ct}, Retry: RetryPolicy{MaxAttempts: 1}})
	_, err := GetPage[Message](t.Context(), c, msgs)
	require.ErrorIs(t, err, m365link.ErrUnavailable)
	assert.Equal(t, int64(2*maxErrorBody), ct.n.Load(), "64 KiB parsed, 64 KiB drained for reuse, no more")
}

// redirectWorld is a TLS Graph that answers every request with a redirect
// (its body a valid page, which must not be used), and the targets it may
// point to, each recording what reached it.
type redirectWorld struct {
	graph   *served
	targets map[string]*served // by name
	client  *http.Client       // trusts graph's certificate; "evil.example" dials loopback
	auth    gosync.Map         // target name → Authorization received
}

func newRedirectWorld(t *testing.T, status int) *redirectWorld {
	w := &redirectWorld{targets: map[string]*served{}}
	for _, name := range []string{"plain", "tls"} {
		w.targets[name] = serve(t, name == "tls", func(_ int, rw http.ResponseWriter, r *http.Request, _ func()) {
			w.auth.Store(name, r.Header.Get("Authorization"))
			fmt.Fprint(rw, `{"value":[{"id":"redirected"}]}`)
		})
	}
	w.graph = serve(t, true, func(_ int, rw http.ResponseWriter, r *http.Request, _ func()) {
		if r.URL.Path == "/v1.0/moved" {
			w.auth.Store("graph", r.Header.Get("Authorization"))
			fmt.Fprint(rw, `{"value":[{"id":"moved"}]}`)
			return
		}
		rw.Header().Set("Location", r.URL.Query().Get("to"))
		rw.WriteHeader(status)
		fmt.Fprint(rw, `{"value":[{"id":"from-the-redirect"}]}`)
	})
	tr := w.graph.Client().Transport.(*http.Transport).Clone()
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(addr)
		return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
	}
	w.client = &http.Client{Transport: tr}
	return w
}

func (w *redirectWorld) port(name string) string {
	return strconv.Itoa(w.targets[name].Listener.Addr().(*net.TCPAddr).Port)
}

// locations are the redirect targets under test, by what changes.
func (w *redirectWorld) locations() map[string]string {
	return map[string]string{
		"same host, http":        "http://127.0.0.1:" + w.port("plain") + "/v1.0/users/u1/messages",
		"same host, other port":  "https://127.0.0.1:" + w.port("tls") + "/v1.0/users/u1/messages",
		"other host, same port":  "https://evil.example:" + w.port("tls") + "/v1.0/users/u1/messages",
		"same origin, other URL": w.graph.URL + "/v1.0/moved",
	}
}

func TestRedirectSetupCanSeeALeak(t *testing.T) {
	// Precondition for the tests below: net/http on its own follows a
	// redirect to the same host name on another scheme and port, bearer
	// token included.
	w := newRedirectWorld(t, http.StatusFound)
	req, err := http.NewRequest("GET", w.graph.URL+"/v1.0/users/u1/messages?to="+w.locations()["same host, http"], nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer at-secret")
	resp, err := w.client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	got, _ := w.auth.Load("plain")
	assert.Equal(t, "Bearer at-secret", got)
}

func TestRedirectsAreNeverFollowed(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		w := newRedirectWorld(t, status)
		for name, loc := range w.locations() {
			t.Run(fmt.Sprintf("%d %s", status, name), func(t *testing.T) {
				c := newServed(t, w.graph, Config{HTTPClient: w.client})
				before := w.graph.hits.Load()
				var out struct{ Value []struct{ ID string } }
				err := c.JSON(t.Context(), &Request{Path: "/users/u1/messages", Query: map[string][]string{"to": {loc}}, Mailbox: "u1", Token: tok}, &out)
				require.ErrorIs(t, err, m365link.ErrUntrustedLink)
				assert.NotErrorIs(t, err, m365link.ErrUnavailable)
				origin := loc[:strings.Index(loc, "/v1.0")]
				assert.Equal(t, fmt.Sprintf("m365link: link outside the Graph origin refused: graph GET /v1.0/users/u1/messages answered %d, a redirect to %s, which is never followed", status, origin), err.Error())
				assert.Empty(t, out.Value, "the redirect's body is not decoded")
				assert.Equal(t, before+1, w.graph.hits.Load(), "not retried")

				page, err := GetPage[Message](t.Context(), c, &Request{Path: "/users/u1/messages", Query: map[string][]string{"to": {loc}}, Token: tok})
				require.ErrorIs(t, err, m365link.ErrUntrustedLink)
				assert.Nil(t, page)
			})
		}
		for name, target := range w.targets {
			assert.Equal(t, int32(0), target.hits.Load(), "%d: no request reached the %s target", status, name)
		}
		_, moved := w.auth.Load("graph")
		assert.False(t, moved, "%d: not even a same-origin redirect is followed", status)
	}
	assert.Nil(t, newRedirectWorld(t, http.StatusFound).client.CheckRedirect, "the host's client is not changed")
}

func TestHTTPClientFollowsSameOriginRedirectsOnly(t *testing.T) {
	w := newRedirectWorld(t, http.StatusFound)
	c := newServed(t, w.graph, Config{HTTPClient: w.client})
	hc := c.HTTPClient()
	get := func(url string) (*http.Response, error) {
		req, err := http.NewRequest("GET", url, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer at-secret") // as the SDK's auth provider does
		return hc.Do(req)
	}
	for name, loc := range w.locations() {
		t.Run(name, func(t *testing.T) {
			resp, err := get(w.graph.URL + "/v1.0/users/u1/messages?to=" + loc)
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if name == "same origin, other URL" {
				assert.Equal(t, 200, resp.StatusCode)
				assert.Equal(t, `{"value":[{"id":"moved"}]}`, string(b))
				got, _ := w.auth.Load("graph")
				assert.Equal(t, "Bearer at-secret", got)
				return
			}
			assert.Equal(t, http.StatusFound, resp.StatusCode, "handed back, not followed")
			assert.Equal(t, loc, resp.Header.Get("Location"))
		})
	}
	t.Run("credentials to another origin", func(t *testing.T) {
		_, err := get(w.locations()["same host, other port"])
		require.ErrorIs(t, err, m365link.ErrUntrustedLink)
		assert.Contains(t, err.Error(), "m365link: link outside the Graph origin refused: credentials are not sent to https://127.0.0.1:"+w.port("tls"))
		assert.NotContains(t, err.Error(), "at-secret")
	})
	for name, target := range w.targets {
		assert.Equal(t, int32(0), target.hits.Load(), "no request reached the %s target", name)
	}
}
