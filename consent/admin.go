package consent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/graph"
	"github.com/m365link/m365link/tokens"
)

// AdminConsentURL returns the link an IT admin opens to grant the app's
// permissions for the whole tenant: the v2.0 adminconsent endpoint, asking
// for the Graph resource's ".default" (every permission configured on the
// app registration). tenant is a tenant ID or domain, or Organizations
// (default) to let the admin's sign-in decide; "common" is refused, as the
// endpoint does not accept it.
func (c *Connector) AdminConsentURL(ctx context.Context, session, tenant, returnTo string) (string, error) {
	if tenant == "" {
		tenant = Organizations
	}
	if strings.EqualFold(tenant, Common) || strings.EqualFold(tenant, Consumers) {
		return "", fmt.Errorf("consent: admin consent needs a tenant or %q, not %q", Organizations, tenant)
	}
	_, state, err := c.issue(ctx, FlowAdminConsent, session, tenant, returnTo)
	if err != nil {
		return "", err
	}
	q := url.Values{
		"client_id":    {c.cfg.ClientID},
		"scope":        {c.cfg.Cloud.GraphResource + "/.default"},
		"redirect_uri": {c.cfg.AdminRedirectURI},
		"state":        {state},
	}
	return c.authorityHost() + "/" + url.PathEscape(tenant) + "/v2.0/adminconsent?" + q.Encode(), nil
}

// AdminConsent is a tenant whose admin granted consent.
type AdminConsent struct {
	TenantID string
	// Scopes are what the callback reports as granted.
	Scopes []string
	// Verified reports that an app-only token was acquired for the tenant,
	// which proves the consent (Config.VerifyAppOnly). Without it TenantID
	// is only what the callback claimed: do not use it to authenticate anyone.
	Verified bool
	ReturnTo string
}

// CompleteAdminConsent handles the admin-consent callback for the session
// that began it. An error answer also carries admin_consent=True, so the
// error is checked first. With VerifyAppOnly, the consent is confirmed by
// acquiring an app-only token for the tenant (stored through tokens).
func (c *Connector) CompleteAdminConsent(ctx context.Context, session, rawQuery string) (*AdminConsent, error) {
	p, err := ParseCallback(rawQuery)
	if err != nil {
		return nil, err
	}
	a, err := c.take(ctx, FlowAdminConsent, session, p)
	if err != nil {
		return nil, err
	}
	if e := p["error"]; e != "" {
		ce := fromOAuth(e, p["error_description"])
		if ce.Code == 90093 || ce.Code == 90094 {
			ce.Kind, ce.Remediation = ErrNotAdmin, "Only a Global Administrator, Privileged Role Administrator or Cloud Application Administrator can grant consent for the organisation; ask one to open this link"
		}
		return nil, ce
	}
	if !strings.EqualFold(p["admin_consent"], "true") {
		return nil, invalid("the callback does not say admin_consent=True")
	}
	tenant := strings.ToLower(p["tenant"])
	if !looksLikeTenantID(tenant) {
		return nil, invalid("the callback's tenant is not a tenant ID")
	}
	if looksLikeTenantID(a.Tenant) && !strings.EqualFold(a.Tenant, tenant) {
		return nil, invalid("the callback's tenant is not the one the link was for")
	}
	if tenant == PersonalTenantID {
		return nil, &Error{Kind: ErrPersonalAccount, Description: "a personal Microsoft account answered the admin-consent link", Remediation: "Sign in with an administrator of a work or school organisation"}
	}
	out := &AdminConsent{TenantID: tenant, Scopes: strings.Fields(p["scope"]), ReturnTo: a.ReturnTo}
	if c.cfg.VerifyAppOnly {
		if _, err := c.cfg.Tokens.Source(m365link.Account{TenantID: tenant}).Token(ctx); err != nil {
			return nil, appOnlyError(err)
		}
		out.Verified = true
	}
	return out, nil
}

// appOnlyError maps a failed app-only acquisition to a consent error.
func appOnlyError(err error) error {
	var re *m365link.ReconnectError
	if errors.As(err, &re) {
		code := 0
		_, _ = fmt.Sscanf(re.Code, "AADSTS%d", &code)
		return fromOAuth("unauthorized_client", re.Description, code)
	}
	var ee *tokens.EndpointError
	if errors.As(err, &ee) {
		return fromOAuth(ee.Err, ee.Description, ee.Code)
	}
	return err
}

// Check is one step of [Connector.TestConnection].
type Check struct {
	// Name says what was tried, e.g. "list users".
	Name string
	// Permission is the application permission the step needs.
	Permission string
	// Err is nil when the step worked.
	Err error
}

// OK reports whether the step worked.
func (c Check) OK() bool { return c.Err == nil }

// TestConnection proves what an app-only (service) connection can actually
// do in tenant: acquire a token, list users, and read mailbox's Inbox and
// calendars (mailbox is a UPN or user ID; empty skips the mailbox steps).
// Every step runs and reports; a failed token stops the rest.
func (c *Connector) TestConnection(ctx context.Context, client *graph.Client, tenant, mailbox string) []Check {
	checks := []Check{{Name: "acquire an app-only token", Permission: "(admin consent)"}}
	if strings.EqualFold(tenant, PersonalTenantID) || strings.EqualFold(tenant, Consumers) {
		checks[0].Err = &Error{Kind: ErrPersonalAccount, Description: "personal Microsoft accounts have no organisation to grant app-only access", Remediation: "Connect each user with the delegated flow instead"}
		return checks
	}
	src := c.cfg.Tokens.Source(m365link.Account{TenantID: strings.ToLower(tenant)})
	if _, err := src.Token(ctx); err != nil {
		checks[0].Err = appOnlyError(err)
		return checks
	}
	type step struct {
		check Check
		path  string
		query url.Values
	}
	steps := []step{{Check{Name: "list users", Permission: "User.Read.All"}, "/users", url.Values{"$top": {"1"}, "$select": {"id"}}}}
	if mailbox != "" {
		steps = append(steps,
			step{Check{Name: "read " + mailbox + "'s Inbox", Permission: "Mail.Read"}, graph.Path("users", mailbox, "mailFolders", "inbox"), nil},
			step{Check{Name: "read " + mailbox + "'s calendars", Permission: "Calendars.Read"}, graph.Path("users", mailbox, "calendars"), url.Values{"$top": {"1"}}})
	}
	for _, s := range steps {
		s.check.Err = client.JSON(ctx, &graph.Request{Method: http.MethodGet, Path: s.path, Query: s.query, Token: src}, nil)
		checks = append(checks, s.check)
	}
	return checks
}

// RevokeInstructions tells an admin how to remove the app on Microsoft's
// side, which no API call from the app itself can do for them.
const RevokeInstructions = "To revoke access on Microsoft's side: in the Microsoft Entra admin center, open " +
	"Enterprise applications, select this app, and choose Properties > Delete (whole organisation), or " +
	"Permissions > Review permissions to revoke grants. A single user can remove it at https://myapps.microsoft.com."

// Disconnect removes an account cleanly: its tokens (every entry of the
// tenant, for an app-only account) through the token manager, then the
// host's own cleanup (sync state, subscriptions) through cleanup, which may
// be nil. It returns RevokeInstructions for the admin.
func (c *Connector) Disconnect(ctx context.Context, account m365link.Account, cleanup func(context.Context, m365link.Account) error) (string, error) {
	if err := c.cfg.Tokens.Disconnect(ctx, account); err != nil {
		return "", fmt.Errorf("consent: disconnect %s: %w", account, err)
	}
	if cleanup != nil {
		if err := cleanup(ctx, account); err != nil {
			return "", fmt.Errorf("consent: disconnect %s: %w", account, err)
		}
	}
	return RevokeInstructions, nil
}
