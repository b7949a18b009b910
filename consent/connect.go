package consent

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/graph"
	"github.com/m365link/m365link/tokens"
)

// Config configures a [Connector].
type Config struct {
	// ClientID is the app registration's application (client) ID.
	ClientID string
	// Cloud is the Microsoft cloud: where users and administrators sign
	// in (AuthorityHost), whose ID tokens are accepted (IssuerHost) and
	// whose Graph the permissions are for (GraphResource, GraphBase). The
	// zero Cloud means the cloud of Tokens, so a host sets it once, on
	// tokens.Config; a Cloud given here must be that same value.
	Cloud m365link.Cloud
	// RedirectURI is the exact, registered callback of the user-connect
	// flow, e.g. "https://app.example.com/m365/callback".
	RedirectURI string
	// AdminRedirectURI is the registered callback of admin consent (both
	// the administrator's sign-in and the admin-consent page answer there).
	// Empty means RedirectURI: one callback then receives every flow, and
	// [Connector.Complete] (which [Connector.Handler] uses) tells them apart
	// by their state.
	AdminRedirectURI string
	// Scopes are requested when a user connects, e.g. from
	// PlanFor(Delegated, MailSync).Scopes(cloud, true).
	Scopes []string
	// Tokens redeems codes and stores connected accounts. It must be
	// configured for the same app and cloud.
	Tokens *tokens.Manager
	// Graph is the process's shared Graph client, which reads an
	// administrator's directory roles (and which [Connector.TestConnection]
	// uses by default), so that those calls count against the same limits
	// as every other package's. It must be a client of Cloud. nil means a
	// client of the connector's own on Cloud, through HTTPClient.
	Graph *graphclient.Client
	// States keeps pending attempts; nil means a MemoryStates, which only
	// suits a single process. A host running several instances uses a
	// store they share (sqlstore) so that every callback is single-use
	// across all of them.
	States StateStore
	// StateTTL bounds how long a user may take to sign in; default 10 minutes.
	StateTTL time.Duration
	// VerifyAppOnly makes CompleteAdminConsent prove the consent by acquiring
	// an app-only token for the tenant (set it when the app uses application
	// permissions): the tenant in the callback alone can be forged.
	VerifyAppOnly bool
	// AdminRoles are the template IDs of the Microsoft Entra roles an
	// administrator must hold (assigned and active) when signing in for
	// admin consent: [Connector.CompleteAdminSignIn] reads the signed-in
	// user's directory roles from Microsoft Graph with the sign-in's own
	// token and refuses anyone holding none of them with [ErrNotAdmin],
	// before any admin-consent link. Empty means
	// [RoleGlobalAdministrator] and [RolePrivilegedRoleAdministrator], the
	// roles that can grant tenant-wide consent to Microsoft Graph
	// application permissions. A host whose plan is delegated permissions
	// only may also accept [RoleCloudApplicationAdministrator] and
	// [RoleApplicationAdministrator], which can grant those; list every
	// role to accept, the defaults included.
	AdminRoles []string
	// HTTPClient sends this package's own requests: the identity
	// platform's discovery metadata and signing keys, to verify an
	// administrator's ID token, and, when Graph is nil, the read of the
	// administrator's roles from Cloud.GraphBase. nil means a client with
	// a 30-second timeout. Redirects are never followed.
	HTTPClient *http.Client
	// Logger receives the failures Handler answers with a 5xx (never a
	// secret); nil discards.
	Logger *slog.Logger
}

// Connector runs admin consent and user connect for one app registration.
// It is safe for concurrent use.
type Connector struct {
	cfg        Config
	states     StateStore
	hc         *http.Client
	gc         *graphclient.Client // Config.Graph, or the connector's own
	graph      *graph.Client       // inside gc: reads administrators' roles
	adminRoles []string            // lower-cased, in preference order
	log        *slog.Logger
	now        func() time.Time
}

// New checks cfg and returns a connector. It names every problem of cfg
// in one error.
func New(cfg Config) (*Connector, error) {
	var bad []string
	if cfg.ClientID == "" {
		bad = append(bad, "Config.ClientID is empty")
	}
	if cfg.RedirectURI == "" {
		bad = append(bad, "Config.RedirectURI is empty")
	}
	for _, u := range []string{cfg.RedirectURI, cfg.AdminRedirectURI} {
		if u == "" {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || !p.IsAbs() || p.Fragment != "" || (p.Scheme != "https" && p.Hostname() != "localhost" && p.Hostname() != "127.0.0.1") {
			bad = append(bad, fmt.Sprintf("redirect URI %q must be absolute https (http only for localhost), without fragment", u))
		}
	}
	if cfg.Tokens == nil {
		bad = append(bad, "Config.Tokens is nil")
	} else {
		bad = append(bad, checkCloud(&cfg)...)
	}
	if cfg.Graph != nil && graph.FromHandle(cfg.Graph) == nil {
		bad = append(bad, "Config.Graph was not made by graphclient.New")
	}
	roles, err := adminRolesOf(cfg.AdminRoles)
	if err != nil {
		bad = append(bad, err.Error())
	}
	if len(bad) > 0 {
		return nil, errors.New("consent: " + strings.Join(bad, "; "))
	}
	if cfg.AdminRedirectURI == "" {
		cfg.AdminRedirectURI = cfg.RedirectURI
	}
	if cfg.StateTTL <= 0 {
		cfg.StateTTL = 10 * time.Minute
	}
	c := &Connector{cfg: cfg, states: cfg.States, adminRoles: roles, log: cfg.Logger, now: time.Now}
	if c.states == nil {
		c.states = &MemoryStates{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	hc := http.Client{Timeout: 30 * time.Second}
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.hc = &hc
	c.gc = cfg.Graph
	if c.gc == nil {
		c.gc, err = graphclient.New(graphclient.Config{Cloud: cfg.Cloud, HTTPClient: c.hc, Retry: ownGraphRetry, Logger: c.log})
		if err != nil {
			return nil, fmt.Errorf("consent: Config.Cloud.GraphBase: %w", err)
		}
	}
	c.graph = graph.FromHandle(c.gc)
	return c, nil
}

// checkCloud settles cfg.Cloud (zero: the cloud of cfg.Tokens) and
// returns what is wrong with it: a field it lacks, or another cloud than
// Tokens' or Graph's.
func checkCloud(cfg *Config) []string {
	if cfg.Cloud == (m365link.Cloud{}) {
		cfg.Cloud = cfg.Tokens.Cloud()
	}
	cloud := cfg.Cloud
	var missing []string
	for _, f := range []struct{ name, value string }{{"AuthorityHost", cloud.AuthorityHost}, {"IssuerHost", cloud.IssuerHost},
		{"GraphBase", cloud.GraphBase}, {"GraphResource", cloud.GraphResource}} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		// An empty GraphBase would mean the global cloud's Graph, which
		// must not see a national cloud's tokens.
		return []string{fmt.Sprintf("Config.Cloud %q has no %s", cloud.Name, strings.Join(missing, ", "))}
	}
	var bad []string
	if t := cfg.Tokens.Cloud(); t != cloud {
		bad = append(bad, fmt.Sprintf("Config.Cloud %q is not the cloud of Config.Tokens (%q at %s): set it once, on tokens.Config", cloud.Name, t.Name, t.AuthorityHost))
	}
	if cfg.Graph != nil && cfg.Graph.Cloud() != cloud {
		g := cfg.Graph.Cloud()
		bad = append(bad, fmt.Sprintf("Config.Graph is a client of cloud %q at %s, not of Config.Cloud %q", g.Name, g.GraphBase, cloud.Name))
	}
	return bad
}

// ConnectOptions tune one user-connect attempt. The zero value is usable.
type ConnectOptions struct {
	// Tenant is the authority tenant: a tenant ID or domain when the host
	// knows the user's organisation, else Organizations (default) or
	// Common/Consumers to admit personal Microsoft accounts.
	Tenant string
	// LoginHint pre-fills the user's address; DomainHint skips home realm discovery.
	LoginHint, DomainHint string
	// Prompt is "select_account", "login" or "consent"; empty lets Entra ID decide.
	Prompt string
	// ReturnTo is a relative path to send the browser to afterwards.
	ReturnTo string
}

// BeginConnect starts a user connect for the host session and returns the
// URL to redirect the browser to: authorization code flow with PKCE (S256,
// a fresh verifier per attempt), a single-use expiring state bound to
// session, and a nonce for the ID token. It makes no network call.
func (c *Connector) BeginConnect(ctx context.Context, session string, opts *ConnectOptions) (string, error) {
	var o ConnectOptions
	if opts != nil {
		o = *opts
	}
	if o.Tenant == "" {
		o.Tenant = Organizations
	}
	if len(resourceScopes(c.cfg.Scopes)) == 0 {
		return "", errors.New("consent: Config.Scopes names no Graph permission; user connect asks for the permissions users consent to, e.g. PlanFor(Delegated, MailSync).Scopes(cloud, true)")
	}
	a, state, err := c.issue(ctx, Attempt{Flow: FlowConnect, Binding: bindingOf(session), Tenant: o.Tenant, ReturnTo: o.ReturnTo})
	if err != nil {
		return "", err
	}
	return c.authorizeURL(a, state, c.cfg.RedirectURI, c.cfg.Scopes,
		map[string]string{"login_hint": o.LoginHint, "domain_hint": o.DomainHint, "prompt": o.Prompt}), nil
}

// authorizeURL is the authorization request of attempt a: code flow with
// PKCE (S256) and a nonce, answered in the query.
func (c *Connector) authorizeURL(a Attempt, state, redirectURI string, scopes []string, hints map[string]string) string {
	sum := sha256.Sum256([]byte(a.Verifier))
	q := url.Values{
		"client_id":             {c.cfg.ClientID},
		"response_type":         {"code"},
		"redirect_uri":          {redirectURI},
		"response_mode":         {"query"},
		"scope":                 {strings.Join(scopes, " ")},
		"state":                 {state},
		"nonce":                 {a.Nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	for k, v := range hints {
		if v != "" {
			q.Set(k, v)
		}
	}
	return c.authorityHost() + "/" + url.PathEscape(a.Tenant) + "/oauth2/v2.0/authorize?" + q.Encode()
}

// issuer is the issuer of this cloud's v2.0 ID tokens for tenant.
func (c *Connector) issuer(tenant string) string {
	return strings.TrimRight(c.cfg.Cloud.IssuerHost, "/") + "/" + tenant + "/v2.0"
}

func (c *Connector) authorityHost() string {
	return strings.TrimRight(c.cfg.Cloud.AuthorityHost, "/")
}

// issue completes a (ID, expiry, secrets, a safe return path) and saves it.
func (c *Connector) issue(ctx context.Context, a Attempt) (Attempt, string, error) {
	a.ID, a.ReturnTo, a.Expires = randomString(32), safeReturn(a.ReturnTo), c.now().Add(c.cfg.StateTTL)
	if d, ok := c.states.(deriver); ok {
		a.Verifier, a.Nonce = d.derive(a.ID, "pkce"), d.derive(a.ID, "nonce")
	} else {
		a.Verifier, a.Nonce = randomString(48), randomString(24)
	}
	state, err := c.states.Issue(ctx, a)
	if err != nil {
		return Attempt{}, "", fmt.Errorf("consent: save state: %w", err)
	}
	return a, state, nil
}

// safeReturn keeps only relative paths on this site: no scheme, no host,
// no "//" or "/\" (browsers read both as another host): no open redirects.
func safeReturn(p string) string {
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") || strings.HasPrefix(p, `/\`) ||
		strings.ContainsAny(p, "\\\r\n\t\x00") {
		return "/"
	}
	if u, err := url.Parse(p); err != nil || u.IsAbs() || u.Host != "" {
		return "/"
	}
	return p
}

// parseCallback reads a callback's raw query. Every parameter must appear
// at most once: a duplicated one (state=a&state=b) is rejected, as the two
// copies could be read differently by different layers.
func parseCallback(rawQuery string) (map[string]string, error) {
	if len(rawQuery) > 16<<10 {
		return nil, invalid("the callback is too long")
	}
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, invalid("the callback's query is malformed")
	}
	out := make(map[string]string, len(vals))
	for k, v := range vals {
		if len(v) != 1 {
			return nil, invalid(fmt.Sprintf("parameter %q appears %d times", k, len(v)))
		}
		out[k] = v[0]
	}
	return out, nil
}

// take validates the state of a callback and returns its attempt, which
// must be of one of flows.
func (c *Connector) take(ctx context.Context, session string, p map[string]string, flows ...Flow) (Attempt, error) {
	state := p["state"]
	if state == "" {
		return Attempt{}, invalid("the callback has no state")
	}
	a, err := c.states.Take(ctx, state)
	if errors.Is(err, ErrStateNotFound) {
		return Attempt{}, invalid("the state is unknown, expired or already used")
	}
	if err != nil {
		return Attempt{}, fmt.Errorf("consent: read state: %w", err)
	}
	if !slices.Contains(flows, a.Flow) {
		return Attempt{}, invalid("the state belongs to another flow")
	}
	if a.Binding != bindingOf(session) {
		return Attempt{}, invalid("the state belongs to another session")
	}
	return a, nil
}

// Connection is a user account connected by [Connector.CompleteConnect].
type Connection struct {
	Account       m365link.Account
	UPN           string
	Name          string
	GrantedScopes []string
	// Personal reports a personal Microsoft account (Outlook.com).
	Personal bool
	// ReturnTo is the relative path the attempt asked to return to.
	ReturnTo string
}

// CompleteConnect handles the user-connect callback (its raw query) for
// the same host session that began it. Before anything reaches the token
// endpoint it checks the parameters (each at most once), the state
// (known, unexpired, unused, this flow, this session) and any error the
// identity platform reported. It then redeems the code with the PKCE
// verifier, checks the ID token's nonce, issuer and tenant, and stores the
// account's tokens.
func (c *Connector) CompleteConnect(ctx context.Context, session, rawQuery string) (*Connection, error) {
	p, err := parseCallback(rawQuery)
	if err != nil {
		return nil, err
	}
	a, err := c.take(ctx, session, p, FlowConnect)
	if err != nil {
		return nil, err
	}
	return c.completeConnect(ctx, a, p)
}

func (c *Connector) completeConnect(ctx context.Context, a Attempt, p map[string]string) (*Connection, error) {
	if p["error"] != "" {
		return nil, callbackError(p)
	}
	if _, ok := p["admin_consent"]; ok {
		return nil, invalid("an admin-consent answer arrived at the user-connect callback")
	}
	code := p["code"]
	if code == "" {
		return nil, invalid("the callback has no code")
	}
	got, err := c.cfg.Tokens.RedeemCode(ctx, a.Tenant, code, c.cfg.RedirectURI, a.Verifier, resourceScopes(c.cfg.Scopes))
	if err != nil {
		return nil, redeemError(err)
	}
	if err := c.checkIDToken(a, got); err != nil {
		return nil, err
	}
	if err := c.cfg.Tokens.Save(ctx, got); err != nil {
		return nil, err
	}
	return &Connection{Account: got.Account, UPN: got.UPN, Name: got.Name, GrantedScopes: got.GrantedScopes,
		Personal: got.Account.TenantID == PersonalTenantID, ReturnTo: a.ReturnTo}, nil
}

// redeemError maps a failed code redemption: the token endpoint's answers
// become typed errors, anything else stays ours.
func redeemError(err error) error {
	var ee *tokens.EndpointError
	if errors.As(err, &ee) {
		return oauthError(ee.Err, ee.Code, ee.Description)
	}
	return fmt.Errorf("consent: redeem code: %w", err)
}

func (c *Connector) checkIDToken(a Attempt, got tokens.Connected) error {
	tid := strings.ToLower(got.IDTenantID)
	switch {
	case got.Nonce != a.Nonce:
		return invalid("the ID token's nonce does not match this attempt")
	case tid == "" || tid != got.Account.TenantID:
		return &Error{Kind: ErrTenant, Description: "the ID token names another tenant than the account", Remediation: "Start connecting again"}
	case got.Issuer != c.issuer(tid):
		return &Error{Kind: ErrTenant, Description: "the ID token's issuer " + got.Issuer + " is not this cloud's", Remediation: "Check the cloud the app is configured for"}
	case looksLikeTenantID(a.Tenant) && !strings.EqualFold(a.Tenant, tid):
		return &Error{Kind: ErrTenant, Description: "the account belongs to another organisation than the one asked for", Remediation: "Sign in with an account of that organisation"}
	case tid == PersonalTenantID && strings.EqualFold(a.Tenant, Organizations):
		return &Error{Kind: ErrTenant, Description: "a personal Microsoft account signed in where only work or school accounts may", Remediation: "Sign in with a work or school account"}
	}
	return nil
}

func looksLikeTenantID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}

// resourceScopes drops the OpenID Connect scopes: MSAL adds them itself and
// treats them as declined if they are asked for explicitly.
func resourceScopes(scopes []string) []string {
	var out []string
	for _, s := range scopes {
		switch s {
		case "openid", "profile", "offline_access", "email":
			continue
		}
		out = append(out, s)
	}
	return out
}
