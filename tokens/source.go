package tokens

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	gosync "sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"golang.org/x/oauth2"

	"github.com/m365link/m365link"
)

// Credential is the app registration's own credential. Its String and
// GoString name the kind only, never the secret.
type Credential struct {
	cred confidential.Credential
	kind string
}

// ClientSecret returns a credential from a client secret.
func ClientSecret(secret string) (Credential, error) {
	if secret == "" {
		return Credential{}, errors.New("tokens: empty client secret")
	}
	c, err := confidential.NewCredFromSecret(secret)
	if err != nil {
		return Credential{}, errors.New("tokens: client secret refused")
	}
	return Credential{cred: c, kind: "client secret"}, nil
}

// ClientCertificate returns a credential from a certificate chain and its
// private key (see confidential.CertFromPEM to load a PEM file).
func ClientCertificate(certs []*x509.Certificate, key crypto.PrivateKey) (Credential, error) {
	c, err := confidential.NewCredFromCert(certs, key)
	if err != nil {
		return Credential{}, fmt.Errorf("tokens: client certificate: %w", err)
	}
	return Credential{cred: c, kind: "client certificate"}, nil
}

// String names the credential kind.
func (c Credential) String() string { return "tokens.Credential{" + c.kind + "}" }

// GoString is String, so %#v shows no secret either.
func (c Credential) GoString() string { return c.String() }

// LogValue names the credential kind, so slog shows no secret either.
func (c Credential) LogValue() slog.Value { return slog.GroupValue(slog.String("kind", c.kind)) }

// Config configures a [Manager].
type Config struct {
	// ClientID is the app registration's application (client) ID.
	ClientID string
	// Credential authenticates the app to the token endpoint.
	Credential Credential
	// Store holds every account's tokens; wrap the host's store with
	// [NewEncrypted]. Required.
	Store Store
	// Cloud is the Microsoft cloud the app is registered in; the zero
	// Cloud is [m365link.Global]. Tokens come from its identity platform
	// (AuthorityHost), and app-only tokens are for its Graph
	// (Cloud.AppScope(): every application permission granted there). A
	// Cloud whose AuthorityHost is none of Microsoft's clouds' (a test
	// double, a private deployment) is used as given: MSAL's instance
	// discovery, which knows only Microsoft's hosts, is skipped for it.
	Cloud m365link.Cloud
	// Scopes are requested for delegated accounts, as the cloud's Graph
	// scopes: Cloud.Scope("Mail.Read"), or consent's Plan.GraphScopes.
	// Required for delegated use: MSAL finds cached tokens by scope, and
	// Entra ID answers a ".default" request with the granted scopes, so
	// ".default" would never hit the cache.
	Scopes []string
	// HTTPClient reaches the identity platform; nil means
	// http.DefaultClient. The manager uses a copy whose CheckRedirect
	// refuses every redirect ([ErrRedirectRefused]); the client itself is
	// not changed.
	HTTPClient *http.Client
	// RefreshBefore is how long before expiry a token is replaced; default
	// 5 minutes (MSAL's own margin).
	RefreshBefore time.Duration
	// Attempts bounds tries of a token request that fails transiently
	// (5xx, 429, network); default 4.
	Attempts int
	// Logger receives refresh events (never tokens); nil discards.
	Logger *slog.Logger
	// OnRefresh, if set, is called after every acquisition that went past
	// the token held in memory (MSAL's cache or the identity platform),
	// with how long it took and its error: for a host's metrics (see
	// package m365otel). It must be fast.
	OnRefresh func(account m365link.Account, took time.Duration, err error)
}

// Manager hands out one [Source] per account and keeps their shared
// configuration. It is safe for concurrent use; create one per process.
type Manager struct {
	cfg       Config
	authority string // the cloud's AuthorityHost without a trailing slash
	discovery bool   // MSAL's instance discovery, for Microsoft's own hosts
	hc        *http.Client
	log       *slog.Logger
	owner     string
	claimTTL  time.Duration

	mu      gosync.Mutex
	sources map[string]*Source
}

// NewManager checks cfg and returns a manager.
func NewManager(cfg Config) (*Manager, error) {
	var bad []string
	if cfg.ClientID == "" {
		bad = append(bad, "Config.ClientID is empty (the app registration's application ID)")
	}
	if cfg.Credential.kind == "" {
		bad = append(bad, "Config.Credential is empty (ClientSecret or ClientCertificate)")
	}
	if cfg.Store == nil {
		bad = append(bad, "Config.Store is nil (Memory, sqlstore's Tokens or the host's own, ideally wrapped by NewEncrypted)")
	}
	cfg.Cloud = cfg.Cloud.OrDefault()
	authority := strings.TrimRight(cfg.Cloud.AuthorityHost, "/")
	if !strings.HasPrefix(authority, "https://") || cfg.Cloud.GraphResource == "" {
		bad = append(bad, fmt.Sprintf("Config.Cloud %q needs an https AuthorityHost and a GraphResource", cfg.Cloud.Name))
	}
	if len(bad) > 0 {
		return nil, errors.New("tokens: " + strings.Join(bad, "; "))
	}
	if cfg.RefreshBefore <= 0 {
		cfg.RefreshBefore = 5 * time.Minute
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 4
	}
	// A copy of the host's client (its timeout, jar and transport), with
	// redirects refused: token requests carry the client secret.
	hc := noRedirects(cfg.HTTPClient)
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = &endpointTransport{base: base, attempts: cfg.Attempts, baseWait: 200 * time.Millisecond}
	m := &Manager{
		cfg:       cfg,
		authority: authority,
		discovery: microsoftAuthority(authority),
		hc:        hc,
		log:       cfg.Logger,
		owner:     randomID(),
		claimTTL:  claimTTL,
		sources:   map[string]*Source{},
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	return m, nil
}

// microsoftAuthority reports whether authority is the identity platform
// of one of Microsoft's clouds, which MSAL's instance discovery knows.
func microsoftAuthority(authority string) bool {
	for _, c := range []m365link.Cloud{m365link.Global, m365link.USGovL4, m365link.USGovL5, m365link.China} {
		if strings.EqualFold(authority, c.AuthorityHost) {
			return true
		}
	}
	return false
}

// Cloud returns the cloud the manager gets tokens from.
func (m *Manager) Cloud() m365link.Cloud { return m.cfg.Cloud }

// String names the client ID and the kind of credential; never the
// secret or any token.
func (m *Manager) String() string {
	return "tokens.Manager{client " + m.cfg.ClientID + ", " + m.cfg.Credential.kind + "}"
}

// GoString is String, so %#v shows no secret either.
func (m *Manager) GoString() string { return m.String() }

// LogValue is what slog shows: the client ID and the kind of credential.
func (m *Manager) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", m.cfg.ClientID), slog.String("credential", m.cfg.Credential.kind))
}

// Source returns the token source for account (app-only when
// account.UserID is empty). Sources are created once and reused.
func (m *Manager) Source(account m365link.Account) *Source {
	k := account.Key()
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.sources[k]
	if s == nil {
		s = &Source{m: m, account: account, key: Key{Account: account, Purpose: PurposeMSAL}}
		s.hot.refreshBefore = m.cfg.RefreshBefore
		m.sources[k] = s
	}
	return s
}

// Forget drops the in-memory state of account (its cached token and any
// reconnect-required state it remembers), so that its next Source asks
// again: after something the store does not show changed its grant, such
// as an administrator consenting for an app-only account's tenant (the
// consent package calls it then). Reconnecting ([Manager.Save]) and
// [Manager.Disconnect] call it themselves. The stored tokens are not
// touched. A refresh already
// running goes on; the account's next Source waits for its claim in the
// store, as another process would, and then reads its result rather than
// refreshing again.
func (m *Manager) Forget(account m365link.Account) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sources, account.Key())
}

// Source supplies access tokens for one account. It is safe for
// concurrent use and cheap on the hot path: a valid token is returned from
// memory without locks or allocations. The returned *oauth2.Token is shared
// and must not be modified.
type Source struct {
	m       *Manager
	account m365link.Account
	key     Key
	hot     hotPath

	mu     gosync.Mutex // guards client and cache creation
	client *confidential.Client
	cache  *msalCache
}

// String names the account; never a token.
func (s *Source) String() string { return "tokens.Source{" + s.account.Key() + "}" }

// GoString is String, so %#v shows no token either.
func (s *Source) GoString() string { return s.String() }

// LogValue is what slog shows: the account.
func (s *Source) LogValue() slog.Value {
	return slog.GroupValue(slog.String("account", s.account.Key()))
}

// Account returns the account the source serves.
func (s *Source) Account() m365link.Account { return s.account }

// Token returns a valid access token, refreshing it when it is within
// RefreshBefore of expiry. Only one refresh runs per account in the
// process, and, through a claim in the store, across processes sharing
// it; everyone else waits for its result. It fails fast with a
// *[m365link.ReconnectError] once the grant is gone, until the account
// connects again (its stored entry changes) or [Manager.Forget] is called.
func (s *Source) Token(ctx context.Context) (*oauth2.Token, error) {
	if tok, ok := s.hot.fast(); ok {
		return tok, nil
	}
	return s.hot.token(ctx, s.m.cfg.Store, s.key, s.acquire)
}

// OAuth2 adapts s to oauth2.TokenSource, whose Token method takes no
// context: each call gets a fresh one bounded by timeout.
func (s *Source) OAuth2(timeout time.Duration) oauth2.TokenSource {
	return oauth2TokenSource{s: s, timeout: timeout}
}

type oauth2TokenSource struct {
	s       *Source
	timeout time.Duration
}

// String names the source it adapts; fmt would otherwise walk into it.
func (o oauth2TokenSource) String() string { return o.s.String() + ".OAuth2" }

// GoString is String.
func (o oauth2TokenSource) GoString() string { return o.String() }

// LogValue is String.
func (o oauth2TokenSource) LogValue() slog.Value { return slog.StringValue(o.String()) }

func (o oauth2TokenSource) Token() (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	return o.s.Token(ctx)
}

func (s *Source) msal() (*confidential.Client, *msalCache, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		return s.client, s.cache, nil
	}
	mc := &msalCache{store: s.m.cfg.Store, key: s.key}
	c, err := confidential.New(s.m.authority+"/"+s.account.TenantID, s.m.cfg.ClientID, s.m.cfg.Credential.cred,
		confidential.WithCache(mc),
		confidential.WithHTTPClient(s.m.hc),
		confidential.WithInstanceDiscovery(s.m.discovery))
	if err != nil {
		return nil, nil, fmt.Errorf("tokens: MSAL client for %s: %w", s.account, err)
	}
	s.client, s.cache = &c, mc
	return s.client, mc, nil
}

// acquire runs inside the hot path's single flight.
func (s *Source) acquire(ctx context.Context) (tok *oauth2.Token, version int64, err error) {
	if hook := s.m.cfg.OnRefresh; hook != nil {
		start := time.Now()
		defer func() { hook(s.account, time.Since(start), err) }()
	}
	client, mc, err := s.msal()
	if err != nil {
		return nil, 0, err
	}
	var res confidential.AuthResult
	for attempt := 0; ; attempt++ {
		if s.account.AppOnly() {
			res, err = s.acquireApp(ctx, client)
		} else {
			c := claimer{store: s.m.cfg.Store, account: s.account, owner: s.m.owner, ttl: s.m.claimTTL, log: s.m.log}
			err = c.withClaim(ctx, func() error {
				var e error
				res, e = s.acquireUser(ctx, client)
				return e
			})
		}
		// A conflict means another process wrote the cache between our read
		// and our write: read again, which finds its token.
		if errors.Is(err, ErrConflict) && attempt < 2 {
			continue
		}
		break
	}
	if err != nil {
		var re *m365link.ReconnectError
		if errors.As(err, &re) {
			s.m.log.LogAttrs(ctx, slog.LevelWarn, "tokens: reconnect required",
				slog.String("account", s.account.Key()), slog.String("reason", string(re.Reason)), slog.String("code", re.Code))
		}
		return nil, mc.loadedVersion(), err
	}
	tok = &oauth2.Token{AccessToken: res.AccessToken, TokenType: "Bearer", Expiry: res.ExpiresOn}
	return tok, 0, nil
}

func (s *Source) acquireApp(ctx context.Context, client *confidential.Client) (confidential.AuthResult, error) {
	cctx, capt := withCapture(ctx)
	res, err := client.AcquireTokenByCredential(cctx, []string{s.m.cfg.Cloud.AppScope()}, confidential.WithTenantID(s.account.TenantID))
	if err != nil {
		return res, s.wrap(err, capt)
	}
	return res, nil
}

func (s *Source) acquireUser(ctx context.Context, client *confidential.Client) (confidential.AuthResult, error) {
	if len(s.m.cfg.Scopes) == 0 {
		return confidential.AuthResult{}, errors.New("tokens: Config.Scopes is empty: delegated accounts need explicit scopes")
	}
	cctx, capt := withCapture(ctx)
	// MSAL names a user's cache partition by home account ID: "oid.tid".
	acct, err := client.Account(cctx, strings.ToLower(s.account.UserID+"."+s.account.TenantID))
	if err != nil {
		return confidential.AuthResult{}, s.wrap(err, capt)
	}
	if acct.IsZero() {
		return confidential.AuthResult{}, &m365link.ReconnectError{Account: s.account, Reason: m365link.ReasonNotConnected,
			Description: "no stored grant for this account: the user must connect"}
	}
	res, err := client.AcquireTokenSilent(cctx, s.m.cfg.Scopes, confidential.WithSilentAccount(acct))
	if err != nil {
		return res, s.wrap(err, capt)
	}
	return res, nil
}

// wrap turns an MSAL failure into the library's error without keeping
// MSAL's text, which can include whole HTTP exchanges.
func (s *Source) wrap(err error, capt *captured) error {
	var se *storeError
	if errors.As(err, &se) {
		return se.err
	}
	return classify(s.account, capt, err)
}

// msalCache persists MSAL's cache for one account through the Store: MSAL
// calls Replace before reading and Export after writing, so a refresh
// (with its rotated refresh token) is saved before the new access token is
// returned, and a failed save fails the acquisition.
type msalCache struct {
	store Store
	key   Key

	mu      gosync.Mutex
	version int64
}

var _ cache.ExportReplace = (*msalCache)(nil)

func (c *msalCache) loadedVersion() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}

// Replace loads the stored partition (an empty cache when there is none).
// A delegated account's partition that does not decrypt holds a grant no
// one can use: the account must reconnect. An app-only partition holds
// only access tokens, which client credentials replace: it is read as
// empty and overwritten.
func (c *msalCache) Replace(ctx context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	e, err := c.store.Get(ctx, c.key)
	switch {
	case errors.Is(err, ErrNotFound):
		e = Entry{Data: []byte("{}")}
	case errors.Is(err, ErrDecrypt) && c.key.Account.AppOnly():
		e = Entry{Data: []byte("{}"), Version: e.Version}
	case errors.Is(err, ErrDecrypt):
		c.mu.Lock()
		c.version = e.Version
		c.mu.Unlock()
		return &storeError{err: unreadable(c.key.Account, err)}
	case err != nil:
		return &storeError{err: fmt.Errorf("tokens: load %s: %w", c.key, err)}
	}
	c.mu.Lock()
	c.version = e.Version
	c.mu.Unlock()
	if err := u.Unmarshal(e.Data); err != nil {
		return &storeError{err: fmt.Errorf("tokens: stored cache for %s is unreadable: %w", c.key, err)}
	}
	return nil
}

// Export saves the cache with compare-and-swap against the version Replace read.
func (c *msalCache) Export(ctx context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	data, err := m.Marshal()
	if err != nil {
		return &storeError{err: fmt.Errorf("tokens: serialise cache for %s: %w", c.key, err)}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, err := c.store.Put(ctx, c.key, data, c.version)
	if err != nil {
		return &storeError{err: fmt.Errorf("tokens: save %s: %w", c.key, err)}
	}
	c.version = v
	return nil
}

// storeError marks a store failure inside an MSAL call so it is returned
// as the store's own error.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }
