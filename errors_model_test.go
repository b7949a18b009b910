package m365link_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/consent"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
	"github.com/m365link/m365link/internal/fakegraph/idp"
	"github.com/m365link/m365link/internal/graph"
	"github.com/m365link/m365link/tokens"
)

// sentinels are every m365link sentinel, in a fixed order.
var sentinels = []error{m365link.ErrThrottled, m365link.ErrUnavailable, m365link.ErrUnauthorized, m365link.ErrForbidden,
	m365link.ErrConsentRequired, m365link.ErrNotFound, m365link.ErrMailboxNotEnabled, m365link.ErrSyncReset,
	m365link.ErrReconnectRequired, m365link.ErrMalformedResponse, m365link.ErrUntrustedLink}

// matched lists the sentinels err matches.
func matched(err error) []error {
	var out []error
	for _, s := range sentinels {
		if errors.Is(err, s) {
			out = append(out, s)
		}
	}
	return out
}

const (
	errTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	errApp    = "a0c1e0b8-5d6e-4c42-9b53-0f5c7a1d2e3f"
	errSecret = "client-secret-value-never-logged"
	errBack   = "https://app.example/m365/callback"
	errAlice  = "6e7b768e-07e2-4810-8459-485f84f8f204"
	errBob    = "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d" // no mailbox
)

// canned answers a request carrying X-Canned with that answer ("403
// ErrorAccessDenied", "302"), as Graph would; the fake cannot be made to
// say these. Everything else goes to the fake.
type canned struct{ base http.RoundTripper }

func (c canned) RoundTrip(r *http.Request) (*http.Response, error) {
	answer := r.Header.Get("X-Canned")
	if answer == "" {
		return c.base.RoundTrip(r)
	}
	status, code, _ := strings.Cut(answer, " ")
	resp := &http.Response{Request: r, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(""))}
	_, _ = fmt.Sscan(status, &resp.StatusCode)
	switch {
	case resp.StatusCode == http.StatusFound:
		resp.Header.Set("Location", "https://elsewhere.example/v1.0/users")
	case code != "":
		resp.Body = io.NopCloser(strings.NewReader(`{"error":{"code":"` + code + `","message":"` + map[string]string{
			"ErrorAccessDenied":           "Access is denied. Check credentials and try again.",
			"Authorization_RequestDenied": "Insufficient privileges to complete the operation.",
			"BadRequest":                  "Invalid filter clause.",
		}[code] + `"}}`))
	}
	return resp, nil
}

// TestEveryTypedFailureMatchesItsRootSentinel (an external test: the root
// package itself still imports no subpackage): every typed failure each
// package returns, produced the way a host meets it (against the fakes of
// Graph and the identity platform), answers errors.Is for exactly the
// m365link sentinels listed, and for its own package's sentinel where it
// has one. A failure listing none is about the host's configuration or the
// flow (a forged callback, a refused app secret), not about Microsoft 365.
func TestEveryTypedFailureMatchesItsRootSentinel(t *testing.T) {
	ctx := context.Background()
	ip := idp.New()
	t.Cleanup(ip.Close)
	ip.AddApp(idp.App{ClientID: errApp, Secret: errSecret, RedirectURIs: []string{errBack}})
	ip.AddUser(idp.User{TenantID: errTenant, ID: errAlice, UPN: "alice@contoso.com", Name: "Alice"})
	ip.SetAccessTokenTTL(time.Minute) // every token is due for refresh: each call asks the identity platform
	fg := fakegraph.New()
	t.Cleanup(fg.Close)
	fg.AddTenant(fakegraph.Tenant{ID: errTenant, DisplayName: "Contoso", Domains: []string{"contoso.com"}})
	fg.AddUser(errTenant, fakegraph.User{ID: errAlice, UPN: "alice@contoso.com", MailEnabled: true, AccountEnabled: true})
	fg.AddUser(errTenant, fakegraph.User{ID: errBob, UPN: "bob@contoso.com", AccountEnabled: true})
	fg.SetTokenValidator(func(tok string, _ *http.Request) bool { return tok != "refused" })
	fg.SetTokenUser(func(tok string, _ *http.Request) string { c, _ := ip.Validate(tok); return c.UserID })

	cloud := m365link.Global // the global cloud, at the fakes
	cloud.Name, cloud.AuthorityHost, cloud.GraphBase = "fake", ip.URL(), fg.URL()
	cred, err := tokens.ClientSecret(errSecret)
	require.NoError(t, err)
	ring, err := tokens.NewKeyRing(1, bytes.Repeat([]byte{3}, 32))
	require.NoError(t, err)
	raw := &tokens.Memory{}
	manager := func(c m365link.Cloud, cred tokens.Credential, hc *http.Client) *tokens.Manager {
		m, err := tokens.NewManager(tokens.Config{ClientID: errApp, Credential: cred, Store: tokens.NewEncrypted(raw, ring), Cloud: c,
			Scopes: []string{cloud.Scope("Mail.Read")}, HTTPClient: hc, Attempts: 1})
		require.NoError(t, err)
		return m
	}
	tok := manager(cloud, cred, ip.Client())
	// connect connects a new user of the tenant and returns the account.
	users := 0
	connect := func() m365link.Account {
		users++
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", users)
		ip.AddUser(idp.User{TenantID: errTenant, ID: id, UPN: id + "@contoso.com"})
		code := ip.IssueCode(errApp, errTenant, id, errBack, "", "", []string{cloud.Scope("Mail.Read")})
		c, err := tok.RedeemCode(ctx, errTenant, code, errBack, "", []string{cloud.Scope("Mail.Read")})
		require.NoError(t, err)
		require.NoError(t, tok.Save(ctx, c))
		return c.Account
	}
	refreshFails := func(f idp.Failure) func() error {
		return func() error {
			a := connect()
			ip.BreakGrant(a.TenantID, a.UserID, f)
			_, err := tok.Source(a).Token(ctx)
			return err
		}
	}

	gc, err := graphclient.New(graphclient.Config{Cloud: cloud, HTTPClient: &http.Client{Transport: canned{fg.Client().Transport}},
		Retry: graphclient.Retry{MaxAttempts: 1}})
	require.NoError(t, err)
	small, err := graphclient.New(graphclient.Config{Cloud: cloud, HTTPClient: fg.Client(), MaxResponseBytes: 64, Retry: graphclient.Retry{MaxAttempts: 1}})
	require.NoError(t, err)
	// A connection reset on a kept-alive connection is retried by
	// net/http itself; a fresh connection's is not.
	fresh := fg.Client().Transport.(*http.Transport).Clone()
	fresh.DisableKeepAlives = true
	once, err := graphclient.New(graphclient.Config{Cloud: cloud, HTTPClient: &http.Client{Transport: fresh}, Retry: graphclient.Retry{MaxAttempts: 1}})
	require.NoError(t, err)
	static := graph.TokenSourceFunc(func(context.Context) (*oauth2.Token, error) { return &oauth2.Token{AccessToken: "t"}, nil })
	// get sends one Graph request through a graphclient.Client, as sync
	// and consent do, after injecting fault (if any) for it.
	get := func(c *graphclient.Client, path string, fault fakegraph.FaultKind, answer string) func() error {
		return func() error {
			if fault != 0 {
				defer fg.Inject(fakegraph.Fault{Route: path, Kind: fault, Times: 1})()
			}
			req := &graph.Request{Path: path, Token: static, Header: http.Header{}}
			if strings.HasPrefix(path, "https://") {
				req = &graph.Request{URL: path, Token: static, Header: http.Header{}}
			}
			if answer == "refused" {
				req.Token = graph.TokenSourceFunc(func(context.Context) (*oauth2.Token, error) { return &oauth2.Token{AccessToken: "refused"}, nil })
			} else if answer != "" {
				req.Header.Set("X-Canned", answer)
			}
			var out map[string]any
			return graph.FromHandle(c).JSON(ctx, req, &out)
		}
	}
	const inbox, delta = "/users/" + errAlice + "/mailFolders/inbox", "/users/" + errAlice + "/mailFolders/inbox/messages/delta"

	conn, err := consent.New(consent.Config{ClientID: errApp, RedirectURI: errBack, Scopes: []string{"openid", cloud.Scope("Mail.Read")},
		Tokens: tok, Graph: gc, HTTPClient: ip.Client()})
	require.NoError(t, err)
	browse := func(u string) string {
		hc := *ip.Client()
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := hc.Get(u)
		require.NoError(t, err)
		resp.Body.Close()
		loc, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		return loc.RawQuery
	}
	// callback completes a user connect whose sign-in the identity
	// platform answers with f.
	callback := func(f idp.Failure) func() error {
		return func() error {
			ip.SignInAs(errTenant, errAlice)
			ip.FailAuthorize(f)
			u, err := conn.BeginConnect(ctx, "s", nil)
			require.NoError(t, err)
			_, err = conn.CompleteConnect(ctx, "s", browse(u))
			return err
		}
	}

	tests := []struct {
		pkg, name string
		err       func() error
		want      []error // exactly the m365link sentinels it matches
		own       error   // its package's own sentinel, if it has one
	}{
		// Microsoft Graph, through the shared graphclient.Client.
		{"graph", "429 throttled", get(gc, inbox, fakegraph.Throttle429, ""), []error{m365link.ErrThrottled}, nil},
		{"graph", "503 unavailable", get(gc, inbox, fakegraph.Unavailable503, ""), []error{m365link.ErrUnavailable}, nil},
		{"graph", "504 gateway timeout", get(gc, inbox, fakegraph.GatewayTimeout504, ""), []error{m365link.ErrUnavailable}, nil},
		{"graph", "connection reset", get(once, inbox, fakegraph.ConnReset, ""), []error{m365link.ErrUnavailable}, nil},
		{"graph", "body cut short", get(gc, inbox, fakegraph.TruncatedBody, ""), []error{m365link.ErrUnavailable}, nil},
		{"graph", "401 token refused", get(gc, inbox, 0, "refused"), []error{m365link.ErrUnauthorized}, nil},
		{"graph", "403 access denied", get(gc, inbox, 0, "403 ErrorAccessDenied"), []error{m365link.ErrForbidden}, nil},
		{"graph", "403 insufficient privileges", get(gc, "/users", 0, "403 Authorization_RequestDenied"),
			[]error{m365link.ErrForbidden, m365link.ErrConsentRequired}, nil},
		{"graph", "404 no such user", get(gc, "/users/nobody@contoso.com", 0, ""), []error{m365link.ErrNotFound}, nil},
		{"graph", "404 no mailbox", get(gc, "/users/"+errBob+"/mailFolders/inbox", 0, ""),
			[]error{m365link.ErrNotFound, m365link.ErrMailboxNotEnabled}, nil},
		{"graph", "410 sync reset", get(gc, delta, fakegraph.SyncReset410, ""), []error{m365link.ErrSyncReset}, nil},
		{"graph", "400 syncStateNotFound", get(gc, delta, fakegraph.SyncStateNotFound, ""), []error{m365link.ErrSyncReset}, nil},
		{"graph", "400 syncStateInvalid", get(gc, delta, fakegraph.SyncStateInvalid, ""), []error{m365link.ErrSyncReset}, nil},
		{"graph", "410 resyncRequired", get(gc, delta, fakegraph.ResyncRequired, ""), []error{m365link.ErrSyncReset}, nil},
		{"graph", "malformed JSON", get(gc, inbox, fakegraph.MalformedJSON, ""), []error{m365link.ErrMalformedResponse}, nil},
		{"graph", "body over the size cap", get(small, "/users", 0, ""), []error{m365link.ErrMalformedResponse}, nil},
		{"graph", "a link off Graph's origin", get(gc, "https://evil.example/v1.0/users", 0, ""), []error{m365link.ErrUntrustedLink}, nil},
		{"graph", "a redirect", get(gc, "/users", 0, "302"), []error{m365link.ErrUntrustedLink}, nil},
		{"graph", "400 bad request", get(gc, "/users", 0, "400 BadRequest"), nil, nil},

		// The identity platform, through tokens.
		{"tokens", "grant revoked", refreshFails(idp.Failure{Error: "invalid_grant", Code: 50173, Description: "The provided grant has expired due to it being revoked."}),
			[]error{m365link.ErrReconnectRequired}, nil},
		{"tokens", "expired after inactivity", refreshFails(idp.Failure{Error: "invalid_grant", Code: 700082, Description: "The refresh token has expired due to inactivity."}),
			[]error{m365link.ErrReconnectRequired}, nil},
		{"tokens", "password changed", refreshFails(idp.Failure{Error: "invalid_grant", Code: 50133, Description: "Session is invalid due to expiration or recent password change."}),
			[]error{m365link.ErrReconnectRequired}, nil},
		{"tokens", "user disabled", refreshFails(idp.Failure{Error: "invalid_grant", Code: 50057, Description: "The user account is disabled."}),
			[]error{m365link.ErrReconnectRequired}, nil},
		{"tokens", "consent withdrawn", refreshFails(idp.Failure{Error: "invalid_grant", Code: 65001, Description: "The user or administrator has not consented."}),
			[]error{m365link.ErrReconnectRequired}, nil},
		{"tokens", "MFA required", refreshFails(idp.Failure{Error: "interaction_required", Code: 50076, Description: "Due to a configuration change you must use multi-factor authentication."}),
			[]error{m365link.ErrReconnectRequired}, nil},
		{"tokens", "invalid_grant of no known cause", refreshFails(idp.Failure{Error: "invalid_grant", Code: 9002313, Description: "Invalid request."}),
			[]error{m365link.ErrReconnectRequired}, nil},
		{"tokens", "never connected", func() error {
			_, err := tok.Source(m365link.Account{TenantID: errTenant, UserID: "99999999-0000-4000-8000-000000000000"}).Token(ctx)
			return err
		}, []error{m365link.ErrReconnectRequired}, nil},
		{"tokens", "stored grant unreadable", func() error {
			a := connect()
			other, _ := tokens.NewKeyRing(2, bytes.Repeat([]byte{4}, 32))
			m, err := tokens.NewManager(tokens.Config{ClientID: errApp, Credential: cred, Store: tokens.NewEncrypted(raw, other), Cloud: cloud,
				Scopes: []string{cloud.Scope("Mail.Read")}, HTTPClient: ip.Client()})
			require.NoError(t, err)
			_, err = m.Source(a).Token(ctx)
			return err
		}, []error{m365link.ErrReconnectRequired}, nil},
		{"tokens", "token endpoint unavailable", func() error {
			a := connect()
			ip.FailNext(idp.Failure{Status: 503, Error: "temporarily_unavailable", Code: 90090, Description: "intermittent"})
			_, err := tok.Source(a).Token(ctx)
			return err
		}, []error{m365link.ErrUnavailable}, nil},
		{"tokens", "identity platform unreachable", func() error {
			gone := cloud
			gone.AuthorityHost = "https://127.0.0.1:1"
			_, err := manager(gone, cred, ip.Client()).Source(m365link.Account{TenantID: errTenant}).Token(ctx)
			return err
		}, []error{m365link.ErrUnavailable}, nil},
		{"tokens", "app credential refused", func() error {
			wrong, _ := tokens.ClientSecret("wrong")
			_, err := manager(cloud, wrong, ip.Client()).Source(m365link.Account{TenantID: errTenant}).Token(ctx)
			return err
		}, nil, tokens.ErrClientCredentials},
		{"tokens", "redirect refused", func() error {
			hc := &http.Client{Transport: redirectTokens{ip.Client().Transport}}
			_, err := manager(cloud, cred, hc).Source(m365link.Account{TenantID: errTenant}).Token(ctx)
			return err
		}, nil, tokens.ErrRedirectRefused},
		{"tokens", "code refused", func() error {
			_, err := tok.RedeemCode(ctx, errTenant, "not-a-code", errBack, "", []string{cloud.Scope("Mail.Read")})
			return err
		}, nil, nil},
		{"tokens", "store: not found", func() error {
			_, err := raw.Get(ctx, tokens.Key{Account: m365link.Account{TenantID: "t", UserID: "u"}, Purpose: tokens.PurposeMSAL})
			return err
		}, nil, tokens.ErrNotFound},
		{"tokens", "store: version conflict", func() error {
			_, err := raw.Put(ctx, tokens.Key{Account: m365link.Account{TenantID: errTenant}, Purpose: tokens.PurposeOAuth2}, []byte("x"), 7)
			return err
		}, nil, tokens.ErrConflict},
		{"tokens", "store: blob does not decrypt", func() error {
			a := connect()
			other, _ := tokens.NewKeyRing(2, bytes.Repeat([]byte{4}, 32))
			_, err := tokens.NewEncrypted(raw, other).Get(ctx, tokens.Key{Account: a, Purpose: tokens.PurposeMSAL})
			return err
		}, nil, tokens.ErrDecrypt},

		// Consent and connect, through consent.
		{"consent", "consent required", callback(idp.Failure{Error: "invalid_client", Code: 65001, Description: "The user or administrator has not consented."}),
			[]error{m365link.ErrForbidden, m365link.ErrConsentRequired}, consent.ErrConsentRequired},
		{"consent", "declined", callback(idp.Failure{Error: "access_denied", Code: 65004, Description: "User declined to consent."}),
			[]error{m365link.ErrForbidden, m365link.ErrConsentRequired}, consent.ErrAccessDenied},
		{"consent", "admin approval required", callback(idp.Failure{Error: "access_denied", Code: 90094, Description: "Admin approval required."}),
			[]error{m365link.ErrForbidden, m365link.ErrConsentRequired}, consent.ErrAdminApprovalRequired},
		{"consent", "app not in tenant", callback(idp.Failure{Error: "unauthorized_client", Code: 700016, Description: "Application was not found in the directory."}),
			[]error{m365link.ErrForbidden, m365link.ErrConsentRequired}, consent.ErrAppNotInTenant},
		{"consent", "user not assigned", callback(idp.Failure{Error: "access_denied", Code: 50105, Description: "The user is not assigned to the app."}),
			[]error{m365link.ErrForbidden}, consent.ErrUserNotAssigned},
		{"consent", "conditional access", callback(idp.Failure{Error: "access_denied", Code: 53003, Description: "Access has been blocked by Conditional Access policies."}),
			[]error{m365link.ErrReconnectRequired}, consent.ErrConditionalAccess},
		{"consent", "MFA required", callback(idp.Failure{Error: "interaction_required", Code: 50076, Description: "You must use multi-factor authentication."}),
			[]error{m365link.ErrReconnectRequired}, consent.ErrConditionalAccess},
		{"consent", "identity platform unavailable", callback(idp.Failure{Error: "temporarily_unavailable", Code: 90090, Description: "intermittent"}),
			[]error{m365link.ErrUnavailable}, consent.ErrUnavailable},
		{"consent", "tenant not found", callback(idp.Failure{Error: "invalid_request", Code: 90002, Description: "Tenant not found."}),
			nil, consent.ErrTenant},
		{"consent", "other refusal", callback(idp.Failure{Error: "invalid_request", Code: 65005, Description: "The app asks for a permission it does not declare."}),
			nil, consent.ErrRejected},
		{"consent", "forged callback", func() error {
			_, err := conn.CompleteConnect(ctx, "s", "code=c&state=forged")
			return err
		}, nil, consent.ErrInvalidCallback},
		{"consent", "not an administrator", func() error {
			ip.SignInAs(errTenant, errAlice)
			u, err := conn.BeginAdminConsent(ctx, "s", nil)
			require.NoError(t, err)
			_, err = conn.CompleteAdminSignIn(ctx, "s", browse(u))
			return err
		}, []error{m365link.ErrForbidden}, consent.ErrNotAdmin},
		{"consent", "personal account, app-only", func() error {
			report, err := conn.TestConnection(ctx, nil, consent.PersonalTenantID, "")
			require.NoError(t, err)
			return report.Checks[0].Err
		}, nil, consent.ErrPersonalAccount},
		{"consent", "connection test: no mailbox", func() error {
			report, err := conn.TestConnection(ctx, nil, errTenant, "bob@contoso.com")
			require.NoError(t, err)
			return report.Checks[3].Err
		}, []error{m365link.ErrNotFound, m365link.ErrMailboxNotEnabled}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.pkg+"/"+tt.name, func(t *testing.T) {
			err := tt.err()
			require.Error(t, err)
			assert.Equal(t, tt.want, matched(err), "%v", err)
			if tt.own != nil {
				assert.ErrorIs(t, err, tt.own)
			}
			assert.NotContains(t, err.Error(), errSecret)
		})
	}
}

// redirectTokens answers every token request with a 307 to elsewhere.
type redirectTokens struct{ base http.RoundTripper }

func (r redirectTokens) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/oauth2/v2.0/token") {
		return &http.Response{StatusCode: http.StatusTemporaryRedirect, Request: req, Body: io.NopCloser(strings.NewReader("")),
			Header: http.Header{"Location": {"https://elsewhere.example/token"}}}, nil
	}
	return r.base.RoundTrip(req)
}
