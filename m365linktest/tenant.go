package m365linktest

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/consent"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
	"github.com/m365link/m365link/internal/fakegraph/idp"
	"github.com/m365link/m365link/tokens"
)

// The host app the fake identity platform knows. Its redirect URIs are
// registered with the fake, and a [Browser] serves every request for
// AppOrigin with the host's own http.Handler.
const (
	// AppOrigin is where the fake's app registration sends browsers back to.
	AppOrigin = "https://app.example"
	// RedirectURI is the registered callback of user connect (and of every
	// flow, for a connector without an AdminRedirectURI): what
	// consent.Connector.Handler serves under the prefix "/m365".
	RedirectURI = AppOrigin + "/m365/callback"
	// AdminRedirectURI is the registered callback for admin consent, for a
	// connector that keeps it apart.
	AdminRedirectURI = AppOrigin + "/m365/admin-callback"
)

// Domain is the tenant's domain: users' addresses and UPNs are on it.
const Domain = "contoso.com"

const (
	clientID     = "8f3c2d1e-5b6a-4c7d-9e0f-1a2b3c4d5e6f"
	clientSecret = "m365linktest-client-secret"
)

// Tenant is a running fake Microsoft 365 tenant: a fake Microsoft Graph and
// a fake Microsoft identity platform, both over TLS on loopback, with one
// app registered. Its methods are safe for concurrent use.
//
// Methods that name a user, mailbox or folder that does not exist panic,
// as a broken fixture should.
type Tenant struct {
	graph *fakegraph.Server
	idp   *idp.Server
	id    string
	http  *http.Client
	gc    *graphclient.Client
	mgr   *tokens.Manager
	conn  *consent.Connector

	signIn gosync.Mutex // the identity platform has one signed-in browser at a time

	mu    gosync.Mutex
	users map[string]User // by lower-cased ID and UPN
}

// Option configures a Tenant.
type Option func(*options)

type options struct {
	redirects     []string
	requireAdmin  bool
	graphListener net.Listener
}

// GraphListener serves the fake Graph on ln instead of a new loopback
// port. A program that keeps sync state between runs (as
// examples/quickstart does in SQLite) restarts its tenant on the same
// address, so the delta links it saved still point at the fake Graph: the
// tenant's data, IDs and delta tokens are deterministic, so the same
// fixture calls in the same order give the same tenant. ln must be a TCP
// listener on loopback; the tenant closes it.
func GraphListener(ln net.Listener) Option {
	return func(o *options) { o.graphListener = ln }
}

// RedirectURIs registers more redirect URIs of the app with the fake
// identity platform, besides [RedirectURI] and [AdminRedirectURI], for a
// host that mounts its consent routes elsewhere.
func RedirectURIs(uris ...string) Option {
	return func(o *options) { o.redirects = append(o.redirects, uris...) }
}

// RequireAdminConsent makes app-only (client credentials) tokens fail with
// AADSTS700016 until an administrator consents, as for an app never
// consented to in the tenant. Without it the tenant has consented.
func RequireAdminConsent() Option {
	return func(o *options) { o.requireAdmin = true }
}

// New starts a fake tenant for a test and stops it when the test ends.
// It fails the test if the tenant cannot start.
func New(tb testing.TB, opts ...Option) *Tenant {
	tb.Helper()
	t, err := start(opts)
	if err != nil {
		tb.Fatalf("m365linktest: %v", err)
	}
	tb.Cleanup(t.Close)
	return t
}

// Start starts a fake tenant outside a test (an Example, a TestMain or a
// program); stop it with [Tenant.Close]. It panics if the tenant cannot
// start.
func Start(opts ...Option) *Tenant {
	t, err := start(opts)
	if err != nil {
		panic("m365linktest: " + err.Error())
	}
	return t
}

func start(opts []Option) (_ *Tenant, err error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	var gopts []fakegraph.Option
	if o.graphListener != nil {
		gopts = append(gopts, fakegraph.WithListener(o.graphListener))
	}
	t := &Tenant{graph: fakegraph.NewTLS(gopts...), idp: idp.New(), users: map[string]User{}}
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	t.id = t.graph.AddTenant(fakegraph.Tenant{DisplayName: "Contoso", Domains: []string{Domain}}).ID
	t.idp.AddApp(idp.App{ClientID: clientID, Secret: clientSecret,
		RedirectURIs: append([]string{RedirectURI, AdminRedirectURI}, o.redirects...)})
	if o.requireAdmin {
		t.idp.RequireAdminConsent()
	}
	// Graph accepts only tokens the identity platform issued, and knows
	// whose they are.
	t.graph.SetTokenValidator(func(tok string, _ *http.Request) bool { _, ok := t.idp.Validate(tok); return ok })
	t.graph.SetTokenTenant(func(tok string, _ *http.Request) string { c, _ := t.idp.Validate(tok); return c.TenantID })
	t.graph.SetTokenUser(func(tok string, _ *http.Request) string { c, _ := t.idp.Validate(tok); return c.UserID })

	roots := x509.NewCertPool()
	roots.AddCert(t.graph.Certificate())
	roots.AddCert(t.idp.Certificate())
	tr := graphclient.DefaultTransport()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	t.http = &http.Client{Transport: tr}

	cloud := t.Cloud()
	if t.gc, err = graphclient.New(graphclient.Config{Cloud: cloud, HTTPClient: t.http, Retry: quickRetry}); err != nil {
		return nil, err
	}
	if t.mgr, err = tokens.NewManager(t.TokensConfig()); err != nil {
		return nil, err
	}
	if t.conn, err = consent.New(t.ConsentConfig(t.mgr)); err != nil {
		return nil, err
	}
	return t, nil
}

// quickRetry keeps a host's tests fast: backoff of milliseconds, and a
// Retry-After honoured but scaled down to at most 20 ms.
var quickRetry = graphclient.Retry{BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond,
	MinRetryAfter: time.Millisecond, MaxRetryAfter: 20 * time.Millisecond}

// Close stops the fake Graph and identity platform.
func (t *Tenant) Close() {
	t.http.CloseIdleConnections()
	t.graph.Close()
	t.idp.Close()
}

// ID is the tenant's directory ID (a GUID).
func (t *Tenant) ID() string { return t.id }

// Cloud is the global cloud with its identity platform (AuthorityHost)
// and its Graph (GraphBase) at the fakes: give it to every package
// (tokens.Config.Cloud, graphclient.Config.Cloud). Issuer and scopes stay
// the global cloud's.
func (t *Tenant) Cloud() m365link.Cloud {
	c := m365link.Global
	c.Name, c.AuthorityHost, c.GraphBase = "m365linktest", t.idp.URL(), t.graph.URL()
	return c
}

// HTTPClient returns a client on graphclient's tuned transport that
// trusts the fakes' certificates; give it to every package's Config.
func (t *Tenant) HTTPClient() *http.Client { return t.http }

// Graph returns a ready Graph client on [Tenant.Cloud], shared by
// whatever the test builds. Its retries wait milliseconds: Retry-After is
// honoured but scaled down to at most 20 ms, so a test meets throttling
// without sleeping. For real waits, make a client of your own from Cloud
// and HTTPClient.
func (t *Tenant) Graph() *graphclient.Client { return t.gc }

// ClientID is the app's client ID, registered with the fake identity
// platform.
func (t *Tenant) ClientID() string { return clientID }

// ClientSecret is the app's client secret.
func (t *Tenant) ClientSecret() string { return clientSecret }

// TokensConfig returns a tokens configuration for the fake: the app's
// client ID and secret, Cloud, HTTPClient, the Graph scopes of delegated
// mail and calendar sync, and a new store in memory, encrypted under a
// random key. Replace Store to test the host's own.
func (t *Tenant) TokensConfig() tokens.Config {
	cred, err := tokens.ClientSecret(clientSecret)
	if err != nil {
		panic(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	ring, err := tokens.NewKeyRing(1, key)
	if err != nil {
		panic(err)
	}
	cloud := t.Cloud()
	return tokens.Config{ClientID: clientID, Credential: cred, Cloud: cloud, HTTPClient: t.http,
		Store: tokens.NewEncrypted(&tokens.Memory{}, ring), Scopes: delegatedPlan.GraphScopes(cloud, true)}
}

// ConsentConfig returns a consent configuration for the fake on manager
// (nil: [Tenant.Tokens]): the app's client ID, [RedirectURI] for every
// flow, the scopes of delegated mail and calendar sync, the tenant's
// Graph client and HTTPClient, and VerifyAppOnly. States is left nil
// (memory).
func (t *Tenant) ConsentConfig(manager *tokens.Manager) consent.Config {
	if manager == nil {
		manager = t.mgr
	}
	return consent.Config{ClientID: clientID, RedirectURI: RedirectURI, Scopes: delegatedPlan.Scopes(t.Cloud(), true),
		Tokens: manager, Graph: t.gc, HTTPClient: t.http, VerifyAppOnly: true}
}

var delegatedPlan = func() consent.Plan {
	p, err := consent.PlanFor(consent.Delegated, consent.MailSync, consent.CalendarSync)
	if err != nil {
		panic(err)
	}
	return p
}()

// Tokens returns the tenant's own token manager, made from
// [Tenant.TokensConfig]. Accounts connected through [Tenant.Connector]
// have their tokens here.
func (t *Tenant) Tokens() *tokens.Manager { return t.mgr }

// Connector returns the tenant's own consent connector, made from
// [Tenant.ConsentConfig] on [Tenant.Tokens].
func (t *Tenant) Connector() *consent.Connector { return t.conn }

// AppToken returns the app-only token source of the tenant, from
// [Tenant.Tokens]: what a sync engine reading every mailbox uses.
func (t *Tenant) AppToken() *tokens.Source {
	return t.mgr.Source(m365link.Account{TenantID: t.id})
}

// SetAccessTokenLifetime sets how long access tokens issued from now on
// live (default one hour). Below the tokens package's refresh margin
// (5 minutes) every Token call refreshes, so a switch such as
// [Tenant.RevokeConsent] shows at the next call rather than after the
// cached token expires.
func (t *Tenant) SetAccessTokenLifetime(d time.Duration) { t.idp.SetAccessTokenTTL(d) }

// TokenRequests counts the token endpoint's requests of one grant type
// ("authorization_code", "refresh_token", "client_credentials"; "" for
// all), failed ones included.
func (t *Tenant) TokenRequests(grantType string) int { return t.idp.Grants(grantType) }

// user resolves a user by ID or UPN.
func (t *Tenant) user(ref string) User {
	t.mu.Lock()
	defer t.mu.Unlock()
	u, ok := t.users[strings.ToLower(ref)]
	if !ok {
		panic(fmt.Sprintf("m365linktest: no user %q", ref))
	}
	return u
}
