package consent

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/tokens"
)

// AdminConsentOptions tune one [Connector.BeginAdminConsent]. The zero
// value is usable.
type AdminConsentOptions struct {
	// Tenant is where the administrator signs in: Organizations (default)
	// for any work or school account, or a tenant ID or verified domain.
	// It only narrows the sign-in: the tenant consented to is always the
	// one the administrator's signed ID token names.
	Tenant string
	// LoginHint pre-fills the administrator's address; DomainHint skips
	// home realm discovery.
	LoginHint, DomainHint string
	// ReturnTo is a relative path to send the browser to afterwards.
	ReturnTo string
}

// adminSignInScopes ask for an ID token naming the administrator (oid,
// tid) and the sign-in permission every app registration starts with,
// User.Read, which the code is redeemed for (MSAL redeems no code for
// OpenID scopes alone) and which reads the administrator's own directory
// roles. The tokens are not kept.
func (c *Connector) adminSignInScopes() []string {
	return []string{"openid", "profile", c.cfg.Cloud.Scope("User.Read")}
}

// BeginAdminConsent starts admin consent for the host session and returns
// the URL to redirect the browser to. The administrator signs in first
// (OpenID Connect: authorization code with PKCE, a nonce, a single-use
// state bound to session), so the tenant to consent for comes from a
// signed ID token rather than from the browser, and the administrator's
// roles are checked before any admin-consent page is offered. Its callback
// goes to [Connector.CompleteAdminSignIn], which sends the browser on to
// the admin-consent page of exactly that tenant; [Connector.CompleteAdminConsent]
// then refuses a callback naming any other. It makes no network call.
func (c *Connector) BeginAdminConsent(ctx context.Context, session string, opts *AdminConsentOptions) (string, error) {
	var o AdminConsentOptions
	if opts != nil {
		o = *opts
	}
	if o.Tenant == "" {
		o.Tenant = Organizations
	}
	if strings.EqualFold(o.Tenant, Common) || strings.EqualFold(o.Tenant, Consumers) || strings.EqualFold(o.Tenant, PersonalTenantID) {
		return "", fmt.Errorf("consent: admin consent needs a work or school organisation or %q, not %q", Organizations, o.Tenant)
	}
	a, state, err := c.issue(ctx, Attempt{Flow: FlowAdminSignIn, Binding: bindingOf(session), Tenant: o.Tenant, ReturnTo: o.ReturnTo})
	if err != nil {
		return "", err
	}
	return c.authorizeURL(a, state, c.cfg.AdminRedirectURI, c.adminSignInScopes(), map[string]string{"login_hint": o.LoginHint, "domain_hint": o.DomainHint}), nil
}

// CompleteAdminSignIn handles the callback of the sign-in that
// [Connector.BeginAdminConsent] started, for the session that began it.
// It checks the callback as [Connector.CompleteConnect] does, redeems the
// code with the PKCE verifier and verifies the ID token (signature by a
// key the identity platform publishes for the token's tenant, this
// cloud's issuer, this app as audience, validity, nonce). It then reads
// the signed-in user's directory roles from Microsoft Graph with the
// sign-in's own access token (GET /me/memberOf/microsoft.graph.directoryRole)
// and requires one of Config.AdminRoles: anyone else gets [ErrNotAdmin],
// and a Graph that cannot answer a typed error ([ErrUnavailable],
// [ErrRejected]), never an admin-consent link. It returns the URL of the
// admin-consent page of the tenant the token names, to redirect the
// browser to; nothing is stored besides the new state, which carries the
// administrator and the role they held.
func (c *Connector) CompleteAdminSignIn(ctx context.Context, session, rawQuery string) (string, error) {
	p, err := parseCallback(rawQuery)
	if err != nil {
		return "", err
	}
	a, err := c.take(ctx, session, p, FlowAdminSignIn)
	if err != nil {
		return "", err
	}
	return c.completeAdminSignIn(ctx, a, p)
}

func (c *Connector) completeAdminSignIn(ctx context.Context, a Attempt, p map[string]string) (string, error) {
	if p["error"] != "" {
		return "", callbackError(p)
	}
	if _, ok := p["admin_consent"]; ok {
		return "", invalid("an admin-consent answer arrived before the administrator signed in")
	}
	code := p["code"]
	if code == "" {
		return "", invalid("the callback has no code")
	}
	got, err := c.cfg.Tokens.RedeemCode(ctx, a.Tenant, code, c.cfg.AdminRedirectURI, a.Verifier, resourceScopes(c.adminSignInScopes()))
	if err != nil {
		return "", redeemError(err)
	}
	claims, err := c.verifyIDToken(ctx, got.RawIDToken(), a.Nonce)
	if err != nil {
		return "", err
	}
	switch {
	case claims.Tenant == PersonalTenantID:
		return "", &Error{Kind: ErrPersonalAccount, Description: "a personal Microsoft account signed in to grant admin consent", Remediation: "Sign in with an administrator of a work or school organisation"}
	case looksLikeTenantID(a.Tenant) && !strings.EqualFold(a.Tenant, claims.Tenant):
		return "", &Error{Kind: ErrTenant, Description: "the administrator signed in to another organisation than the one asked for", Remediation: "Sign in with an administrator of that organisation"}
	}
	var role string
	if claims.Roles != nil {
		// The signed token names the roles: no Graph call needed.
		role, err = c.heldRole(*claims.Roles, false)
	} else {
		role, err = c.adminRole(ctx, got.AccessToken())
	}
	if err != nil {
		return "", err
	}
	_, state, err := c.issue(ctx, Attempt{Flow: FlowAdminConsent, Binding: a.Binding, Tenant: claims.Tenant, Subject: claims.Object,
		AdminRole: role, ReturnTo: a.ReturnTo})
	if err != nil {
		return "", err
	}
	return c.adminConsentLink(claims.Tenant, state), nil
}

// AdminConsentURL returns an admin-consent link for a tenant the host
// already knows: tenant must be the customer's tenant ID (a GUID) from the
// host's own records, never from the browser. Its callback must name that
// tenant. Nobody signs in first, so nothing proves who consented (the
// [AdminConsent] has no Admin): use it where the tenant alone matters. To
// let the administrator's sign-in decide the tenant, use
// [Connector.BeginAdminConsent]: the callback of an admin-consent link
// made for "organizations" names a tenant anyone can edit, so this
// package makes no such link.
func (c *Connector) AdminConsentURL(ctx context.Context, session, tenant, returnTo string) (string, error) {
	tenant = strings.ToLower(tenant)
	if !looksLikeTenantID(tenant) || tenant == PersonalTenantID {
		return "", fmt.Errorf("consent: AdminConsentURL needs the organisation's tenant ID, not %q; to let the administrator's sign-in decide the tenant, use BeginAdminConsent", tenant)
	}
	_, state, err := c.issue(ctx, Attempt{Flow: FlowAdminConsent, Binding: bindingOf(session), Tenant: tenant, ReturnTo: returnTo})
	if err != nil {
		return "", err
	}
	return c.adminConsentLink(tenant, state), nil
}

// adminConsentLink is the v2.0 adminconsent endpoint of one tenant, asking
// for the Graph resource's ".default" (every permission configured on the
// app registration).
func (c *Connector) adminConsentLink(tenant, state string) string {
	q := url.Values{
		"client_id":    {c.cfg.ClientID},
		"scope":        {c.cfg.Cloud.AppScope()},
		"redirect_uri": {c.cfg.AdminRedirectURI},
		"state":        {state},
	}
	return c.authorityHost() + "/" + url.PathEscape(tenant) + "/v2.0/adminconsent?" + q.Encode()
}

// AdminConsent is a tenant whose admin granted consent.
//
// What it proves, after [Connector.BeginAdminConsent]: TenantID comes from
// the administrator's verified ID token, not from the browser (the
// callback named the same tenant); Admin signed in in this session and
// held AdminRole, one of Config.AdminRoles, at that sign-in (the ID
// token's signed "wids" claim said so when the app registration asks for
// directory roles in tokens, otherwise Microsoft Graph did, to their own
// token); with Verified (Config.VerifyAppOnly)
// an app-only token for the tenant was acquired, so the app has consent
// there, where without it the consent is the unsigned callback's word.
// After [Connector.AdminConsentURL], TenantID is the host's own and
// nothing is known of who consented.
type AdminConsent struct {
	// TenantID is the tenant the administrator signed in to (from the
	// verified ID token), or the one the host named to AdminConsentURL;
	// the callback named the same one.
	TenantID string
	// Admin is the administrator who signed in before consenting (zero
	// for a link made by AdminConsentURL).
	Admin m365link.Account
	// AdminRole is the template ID of the role Admin held at sign-in
	// (RoleGlobalAdministrator…); empty for a link made by AdminConsentURL.
	AdminRole string
	// Scopes are what the callback reports as granted.
	Scopes []string
	// Verified reports that an app-only token was acquired for the tenant,
	// which proves the consent (Config.VerifyAppOnly).
	Verified bool
	ReturnTo string
}

// CompleteAdminConsent handles the admin-consent callback for the session
// that began it. An error answer also carries admin_consent=True, so the
// error is checked first. A link that followed a sign-in must carry the
// admin role the administrator proved there (one of Config.AdminRoles),
// else it is refused with [ErrNotAdmin]. The callback's tenant must be the
// one the administrator signed in to (or the one the host named); any
// other is refused with [ErrTenant]. With VerifyAppOnly, the consent is
// confirmed by acquiring an app-only token for the tenant (stored through
// tokens).
func (c *Connector) CompleteAdminConsent(ctx context.Context, session, rawQuery string) (*AdminConsent, error) {
	p, err := parseCallback(rawQuery)
	if err != nil {
		return nil, err
	}
	a, err := c.take(ctx, session, p, FlowAdminConsent)
	if err != nil {
		return nil, err
	}
	return c.completeAdminConsent(ctx, a, p)
}

func (c *Connector) completeAdminConsent(ctx context.Context, a Attempt, p map[string]string) (*AdminConsent, error) {
	if p["error"] != "" {
		ce := callbackError(p)
		if ce.Code == 90093 || ce.Code == 90094 {
			ce.Kind, ce.Remediation = ErrNotAdmin, "Only a Global Administrator, Privileged Role Administrator or Cloud Application Administrator can grant consent for the organisation; ask one to open this link"
		}
		return nil, ce
	}
	if !strings.EqualFold(p["admin_consent"], "true") {
		return nil, invalid("the callback does not say admin_consent=True")
	}
	// Every admin-consent state names one tenant (older ones for
	// "organizations" are refused with it).
	if !looksLikeTenantID(a.Tenant) {
		return nil, invalid("the admin-consent link was not made for one tenant")
	}
	// States issued before the role check (or under other AdminRoles)
	// prove no role.
	if a.Subject != "" && !slices.Contains(c.adminRoles, a.AdminRole) {
		return nil, &Error{Kind: ErrNotAdmin, Description: "the admin-consent link was not issued after a sign-in that proved an admin role",
			Remediation: "Start admin consent again from the app"}
	}
	if tenant := strings.ToLower(p["tenant"]); tenant != strings.ToLower(a.Tenant) {
		desc := "the callback names another tenant than the one the link was made for"
		if a.Subject != "" {
			desc = "the callback names another tenant than the one the administrator signed in to"
		}
		return nil, &Error{Kind: ErrTenant, Description: desc, Remediation: "Start admin consent again from the app"}
	}
	tenant := strings.ToLower(a.Tenant)
	out := &AdminConsent{TenantID: tenant, Scopes: strings.Fields(p["scope"]), ReturnTo: a.ReturnTo}
	if a.Subject != "" {
		out.Admin, out.AdminRole = m365link.Account{TenantID: tenant, UserID: a.Subject}, a.AdminRole
	}
	if c.cfg.VerifyAppOnly {
		// A failure remembered from before the consent (a connection test,
		// say) must not stand in for the answer the consent changed.
		c.cfg.Tokens.Forget(m365link.Account{TenantID: tenant})
		if _, err := c.cfg.Tokens.Source(m365link.Account{TenantID: tenant}).Token(ctx); err != nil {
			return nil, appOnlyError(err)
		}
		out.Verified = true
	}
	return out, nil
}

// appOnlyError maps a failed app-only acquisition to a consent error.
// A refused app credential stays the tokens package's error
// ([tokens.ErrClientCredentials]): the host's configuration, not consent,
// is at fault.
func appOnlyError(err error) error {
	if errors.Is(err, tokens.ErrClientCredentials) {
		return err
	}
	var re *m365link.ReconnectError
	if errors.As(err, &re) {
		code := 0
		_, _ = fmt.Sscanf(re.Code, "AADSTS%d", &code)
		return oauthError("unauthorized_client", code, re.Description)
	}
	var ee *tokens.EndpointError
	if errors.As(err, &ee) {
		return oauthError(ee.Err, ee.Code, ee.Description)
	}
	return err
}

// RevokeInstructions tells an admin how to remove the app on Microsoft's
// side, which no API call from the app itself can do for them: show it
// after disconnecting an account or tenant (tokens.Manager.Disconnect).
const RevokeInstructions = "To revoke access on Microsoft's side: in the Microsoft Entra admin center, open " +
	"Enterprise applications, select this app, and choose Properties > Delete (whole organisation), or " +
	"Permissions > Review permissions to revoke grants. A single user can remove it at https://myapps.microsoft.com."
