package tokens_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/tokens"
)

// front is the identity platform as the library reaches it: a TLS server
// that passes everything through to the fake (rewriting the fake's origin
// in the OpenID metadata to its own) until told to answer token requests
// with a redirect, to drop their connections or to take their time.
type front struct {
	srv      *httptest.Server
	redirect atomic.Pointer[redirectTo]
	drop     atomic.Bool
	delay    atomic.Int64 // nanoseconds each token request waits before it is passed on
	posts    atomic.Int32 // token requests received
}

type redirectTo struct {
	status   int
	location string
}

func newFront(t *testing.T, e *env) *front {
	t.Helper()
	f := &front{}
	up, err := url.Parse(e.idp.URL())
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(up)
	rp.Transport = e.idp.Client().Transport
	rp.ModifyResponse = func(resp *http.Response) error {
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		b = bytes.ReplaceAll(b, []byte(e.idp.URL()), []byte(f.srv.URL))
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		isToken := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token")
		if isToken {
			f.posts.Add(1)
			time.Sleep(time.Duration(f.delay.Load()))
		}
		if to := f.redirect.Load(); to != nil && isToken {
			w.Header().Set("Location", to.location)
			w.WriteHeader(to.status)
			return
		}
		if f.drop.Load() && isToken {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *front) host() string { return strings.TrimPrefix(f.srv.URL, "https://") }

// sent is one request a host's HTTP client sent.
type sent struct {
	Method, Scheme, Host, Path string
}

// recorder is the host's transport: it records every request the client
// sends, redirects followed included, and dials names under example.com
// (which the test certificate covers) to the attacker's server.
type recorder struct {
	base http.RoundTripper
	mu   gosync.Mutex
	reqs []sent
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, sent{req.Method, req.URL.Scheme, req.URL.Host, req.URL.Path})
	r.mu.Unlock()
	return r.base.RoundTrip(req)
}

func (r *recorder) take() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// hostClient is what a host passes in Config.HTTPClient: a plain client
// that follows redirects, as http.Client does by default.
func hostClient(t *testing.T, e *env, attacker *httptest.Server) (*http.Client, *recorder) {
	t.Helper()
	tr := e.idp.Client().Transport.(*http.Transport).Clone()
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if h, _, _ := net.SplitHostPort(addr); strings.HasSuffix(h, ".example.com") {
			addr = attacker.Listener.Addr().String()
		}
		return d.DialContext(ctx, network, addr)
	}
	rec := &recorder{base: tr}
	return &http.Client{Transport: rec}, rec
}

func managerFor(t *testing.T, e *env, authority string, hc *http.Client) *tokens.Manager {
	t.Helper()
	cred, err := tokens.ClientSecret(secret)
	require.NoError(t, err)
	m, err := tokens.NewManager(tokens.Config{ClientID: clientID, Credential: cred, Store: e.store,
		Cloud: fakeCloud(authority), Scopes: mailRead, HTTPClient: hc, Attempts: 2})
	require.NoError(t, err)
	return m
}

// TestTokenEndpointRedirectsAreNeverFollowed: a token endpoint answering
// 307 or 308 (which http.Client follows by re-posting the body, client
// secret, refresh token or code included) to plain http on the same host
// and port, to another port, or to another host gets no request sent
// there at all, and the caller a typed ErrRedirectRefused — for app-only
// and delegated sources, code redemption and External, on a client the
// host passed in (which is left as it was).
func TestTokenEndpointRedirectsAreNeverFollowed(t *testing.T) {
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		for _, target := range []string{"http same host and port", "another port", "another host"} {
			t.Run(strconv.Itoa(status)+" to "+target, func(t *testing.T) {
				ctx := context.Background()
				e := newEnv(t)
				e.idp.SetAccessTokenTTL(time.Minute)
				var attackerHits atomic.Int32
				attacker := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					attackerHits.Add(1)
				}))
				t.Cleanup(attacker.Close)
				f := newFront(t, e)
				hc, rec := hostClient(t, e, attacker)
				m := managerFor(t, e, f.srv.URL, hc)

				// Connected through the front while it still behaves.
				code := e.idp.IssueCode(clientID, tenantID, userID, redirect, "", "", mailRead)
				c, err := m.RedeemCode(ctx, tenantID, code, redirect, "", mailRead)
				require.NoError(t, err)
				require.NoError(t, m.Save(ctx, c))
				x := tokens.NewExternal(e.store, alice, &oauth2.Config{ClientID: clientID, ClientSecret: secret,
					Endpoint: oauth2.Endpoint{TokenURL: f.srv.URL + "/" + tenantID + "/oauth2/v2.0/token", AuthStyle: oauth2.AuthStyleInParams}},
					&tokens.ExternalOptions{HTTPClient: hc})
				require.NoError(t, x.Save(ctx, e.hostToken(t)))
				grants := e.idp.Grants("")

				loc := map[string]string{
					"http same host and port": "http://" + f.host(),
					"another port":            attacker.URL,
					"another host":            "https://login.attacker.example.com:" + strconv.Itoa(attacker.Listener.Addr().(*net.TCPAddr).Port),
				}[target] + "/" + tenantID + "/oauth2/v2.0/token"
				f.redirect.Store(&redirectTo{status: status, location: loc})
				rec.take()

				want := "tokens: the identity platform answered " + strconv.Itoa(status) +
					" with a redirect, which is never followed: it would resend the credentials"
				tokenPost := sent{http.MethodPost, "https", f.host(), "/" + tenantID + "/oauth2/v2.0/token"}
				// A new MSAL client (a new Source) reads the OpenID metadata first.
				metadata := sent{http.MethodGet, "https", f.host(), "/" + tenantID + "/v2.0/.well-known/openid-configuration"}
				calls := map[string]func() error{
					"app-only": func() error {
						_, err := m.Source(m365link.Account{TenantID: tenantID}).Token(ctx)
						return err
					},
					"delegated refresh": func() error {
						_, err := m.Source(alice).Token(ctx)
						return err
					},
					"code redemption": func() error {
						_, err := m.RedeemCode(ctx, tenantID, e.idp.IssueCode(clientID, tenantID, userID, redirect, "", "", mailRead), redirect, "", mailRead)
						return err
					},
					"external refresh": func() error {
						_, err := x.Token(ctx)
						return err
					},
				}
				for name, call := range calls {
					err := call()
					require.ErrorIs(t, err, tokens.ErrRedirectRefused, name)
					assert.EqualError(t, err, want, name)
					assert.NotErrorIs(t, err, m365link.ErrUnavailable, name)
					assert.NotErrorIs(t, err, m365link.ErrReconnectRequired, name)
					got := slices.DeleteFunc(rec.take(), func(s sent) bool { return s == metadata })
					assert.Equal(t, []sent{tokenPost}, got, "%s: the only token request sent is the one the endpoint redirected", name)
				}
				assert.Equal(t, int32(0), attackerHits.Load(), "the redirect target received nothing")
				assert.Equal(t, grants, e.idp.Grants(""), "no token request reached the identity platform either")
				assert.Nil(t, hc.CheckRedirect, "the host's client is not modified")
			})
		}
	}
}

// TestIdentityPlatformUnreachable: a network failure is reported as
// m365link.ErrUnavailable with its cause (and no URL), never as
// reconnect-required.
func TestIdentityPlatformUnreachable(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)

	// Nothing listens at the authority: MSAL's first request is refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	m := managerFor(t, e, "https://"+addr, e.idp.Client())
	app := m365link.Account{TenantID: tenantID}
	_, err = m.Source(app).Token(ctx)
	require.ErrorIs(t, err, m365link.ErrUnavailable)
	assert.NotErrorIs(t, err, m365link.ErrReconnectRequired)
	var op *net.OpError
	require.ErrorAs(t, err, &op, "the network error is kept")
	assert.Equal(t, "dial", op.Op)
	assert.EqualError(t, err, "tokens: identity platform unreachable for "+tenantID+": dial tcp "+addr+": connect: connection refused")

	_, err = m.RedeemCode(ctx, tenantID, "a-code", redirect, "", mailRead)
	require.ErrorIs(t, err, m365link.ErrUnavailable)
	assert.EqualError(t, err, "tokens: identity platform unreachable: dial tcp "+addr+": connect: connection refused")

	// The token endpoint drops the connection of every refresh, after
	// MSAL read the metadata.
	e.idp.SetAccessTokenTTL(time.Minute)
	f := newFront(t, e)
	m = managerFor(t, e, f.srv.URL, e.idp.Client())
	c, err := m.RedeemCode(ctx, tenantID, e.idp.IssueCode(clientID, tenantID, userID, redirect, "", "", mailRead), redirect, "", mailRead)
	require.NoError(t, err)
	require.NoError(t, m.Save(ctx, c))
	x := tokens.NewExternal(e.store, alice, &oauth2.Config{ClientID: clientID, ClientSecret: secret,
		Endpoint: oauth2.Endpoint{TokenURL: f.srv.URL + "/" + tenantID + "/oauth2/v2.0/token", AuthStyle: oauth2.AuthStyleInParams}},
		&tokens.ExternalOptions{HTTPClient: e.idp.Client(), Attempts: 2})
	require.NoError(t, x.Save(ctx, e.hostToken(t)))
	f.drop.Store(true)
	for name, src := range map[string]interface {
		Token(context.Context) (*oauth2.Token, error)
	}{"delegated": m.Source(alice), "external": x} {
		_, err = src.Token(ctx)
		require.ErrorIs(t, err, m365link.ErrUnavailable, name)
		assert.ErrorIs(t, err, io.EOF, "%s: the cause is kept", name)
		assert.NotErrorIs(t, err, m365link.ErrReconnectRequired, name)
		assert.True(t, strings.HasPrefix(err.Error(), "tokens: identity platform unreachable for "+tenantID+"/"+userID+": "), "%s: %v", name, err)
		assert.NotContains(t, err.Error(), "https://", name)
		assert.NotContains(t, err.Error(), secret, name)
	}
	assert.False(t, errors.Is(err, context.Canceled))
}
