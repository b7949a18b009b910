package consent

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/graph"
	"github.com/m365link/m365link/tokens"
)

// ConnectionReport is what [Connector.TestConnection] found.
type ConnectionReport struct {
	// Tenant and Mailbox are what was tested.
	Tenant, Mailbox string
	// Checks are the steps in the order they ran. A failed token stops
	// the test: the steps after it are not listed.
	Checks []Check
}

// OK reports whether every step worked.
func (r *ConnectionReport) OK() bool {
	for _, c := range r.Checks {
		if !c.OK() {
			return false
		}
	}
	return true
}

// Check is one step of [Connector.TestConnection].
type Check struct {
	// Name says what was tried, e.g. "list users".
	Name string
	// Permission is the application permission the step needs.
	Permission string
	// Err is nil when the step worked. It matches the m365link sentinels
	// with errors.Is where one applies (ErrConsentRequired, ErrForbidden,
	// ErrNotFound, ErrMailboxNotEnabled, ErrThrottled, ErrUnavailable…): a
	// failed token is an *[Error] (or, for a refused app credential, the
	// tokens package's [tokens.ErrClientCredentials]), a failed Graph call
	// an *[m365link.GraphError] with the request IDs Microsoft support
	// asks for.
	Err error
	// Remediation tells an admin what to do about Err, in plain words; ""
	// when the step worked.
	Remediation string
}

// OK reports whether the step worked.
func (c Check) OK() bool { return c.Err == nil }

// TestConnection proves what an app-only (service) connection can
// actually do in tenant, now: acquire a token (asking the identity
// platform again rather than repeating a failure it remembers), list
// users, and find mailbox (a UPN or user ID; empty skips the mailbox
// steps) and read its Inbox and calendars. Every step runs and reports,
// with a remediation when it fails; a failed token stops the rest. The
// Graph calls go through client, the process's shared Graph client, so
// they count against the same mailbox limits as sync's; nil means
// Config.Graph (or the connector's own client). An error is returned only
// for a call that cannot be made: no tenant, or a client of another cloud.
func (c *Connector) TestConnection(ctx context.Context, client *graphclient.Client, tenant, mailbox string) (*ConnectionReport, error) {
	if tenant == "" {
		return nil, errors.New("consent: TestConnection needs a tenant")
	}
	if client == nil {
		client = c.gc
	}
	if graph.FromHandle(client) == nil {
		return nil, errors.New("consent: TestConnection got a Graph client not made by graphclient.New")
	}
	if client.Cloud() != c.cfg.Cloud {
		return nil, fmt.Errorf("consent: TestConnection got a Graph client of cloud %q, not of the connector's %q", client.Cloud().Name, c.cfg.Cloud.Name)
	}
	gc := graph.FromHandle(client)
	report := &ConnectionReport{Tenant: tenant, Mailbox: mailbox}
	token := Check{Name: "acquire an app-only token", Permission: "(admin consent)"}
	if strings.EqualFold(tenant, PersonalTenantID) || strings.EqualFold(tenant, Consumers) {
		token.Err = &Error{Kind: ErrPersonalAccount, Description: "personal Microsoft accounts have no organisation to grant app-only access",
			Remediation: "Connect each user with the delegated flow instead"}
	}
	account := m365link.Account{TenantID: strings.ToLower(tenant)}
	if token.Err == nil {
		c.cfg.Tokens.Forget(account)
		if _, err := c.cfg.Tokens.Source(account).Token(ctx); err != nil {
			token.Err = appOnlyError(err)
		}
	}
	if token.Err != nil {
		token.Remediation = remedyOf(token.Err, token.Permission, mailbox)
		report.Checks = append(report.Checks, token)
		return report, nil
	}
	report.Checks = append(report.Checks, token)
	src := c.cfg.Tokens.Source(account)
	run := func(name, permission string, req *graph.Request, out any) {
		req.Token = src
		ch := Check{Name: name, Permission: permission}
		if ch.Err = gc.JSON(ctx, req, out); ch.Err != nil {
			ch.Remediation = remedyOf(ch.Err, permission, mailbox)
		}
		report.Checks = append(report.Checks, ch)
	}
	run("list users", "User.Read.All", &graph.Request{Path: "/users", Query: url.Values{"$top": {"1"}, "$select": {"id"}}}, nil)
	if mailbox == "" {
		return report, nil
	}
	// The mailbox's user ID keys the per-mailbox limiter, as it does for
	// sync; a UPN would be counted as another mailbox.
	var user struct {
		ID string `json:"id"`
	}
	run("find "+mailbox, "User.Read.All", &graph.Request{Path: graph.Path("users", mailbox), Query: url.Values{"$select": {"id"}}}, &user)
	id := user.ID
	if id == "" {
		id = mailbox
	}
	run("read "+mailbox+"'s Inbox", "Mail.Read", &graph.Request{Path: graph.Path("users", id, "mailFolders", "inbox"), Mailbox: id}, nil)
	run("read "+mailbox+"'s calendars", "Calendars.Read",
		&graph.Request{Path: graph.Path("users", id, "calendars"), Query: url.Values{"$top": {"1"}}, Mailbox: id}, nil)
	return report, nil
}

// remedyOf says what an admin does about a failed step of TestConnection.
func remedyOf(err error, permission, mailbox string) string {
	var ce *Error
	var ee *tokens.EndpointError
	switch {
	case errors.As(err, &ce):
		return ce.Remediation
	case errors.Is(err, tokens.ErrClientCredentials) && errors.As(err, &ee) && remedies[ee.Code].text != "":
		return remedies[ee.Code].text
	case errors.Is(err, tokens.ErrClientCredentials):
		return "The identity platform refused the app's own credential: check the client secret or certificate the app is configured with against the app registration"
	case errors.Is(err, m365link.ErrConsentRequired), errors.Is(err, m365link.ErrForbidden):
		return "Add the application permission " + permission + " to the app registration (API permissions) and have an administrator consent again; " +
			"if only some mailboxes fail, check that no Exchange application access policy excludes them"
	case errors.Is(err, m365link.ErrMailboxNotEnabled):
		return mailbox + " has no Exchange Online mailbox (unlicensed, inactive, soft-deleted or on-premises): assign it a licence that includes Exchange Online, or test another mailbox"
	case errors.Is(err, m365link.ErrNotFound):
		return "The organisation has no user " + mailbox + ": check the address or user ID"
	case errors.Is(err, m365link.ErrUnauthorized):
		return "Microsoft Graph refused the app-only token: check that the app is configured for this organisation's cloud, then test again"
	case errors.Is(err, m365link.ErrThrottled), errors.Is(err, m365link.ErrUnavailable):
		return "A passing problem at Microsoft. Try again in a minute"
	}
	return "See the error; its request-id identifies the request to Microsoft support"
}
