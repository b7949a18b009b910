package consent

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/graph"
)

// Template IDs of the Microsoft Entra built-in roles that can grant
// tenant-wide admin consent (the same in every tenant and cloud), for
// Config.AdminRoles.
const (
	// RoleGlobalAdministrator can grant consent to any permission of any API.
	RoleGlobalAdministrator = "62e90394-69f5-4237-9190-012177145e10"
	// RolePrivilegedRoleAdministrator can grant consent to any permission
	// of any API.
	RolePrivilegedRoleAdministrator = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	// RoleCloudApplicationAdministrator can grant consent to delegated
	// permissions, but not to Microsoft Graph application permissions.
	RoleCloudApplicationAdministrator = "158c047a-c907-4556-b7ef-446551a6b5f7"
	// RoleApplicationAdministrator can grant consent to delegated
	// permissions, but not to Microsoft Graph application permissions.
	RoleApplicationAdministrator = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
)

// defaultAdminRoles can grant tenant-wide consent to Microsoft Graph
// application permissions, which the admin-consent page asks for
// (".default": every permission on the app registration).
var defaultAdminRoles = []string{RoleGlobalAdministrator, RolePrivilegedRoleAdministrator}

var roleNames = map[string]string{
	RoleGlobalAdministrator:           "Global Administrator",
	RolePrivilegedRoleAdministrator:   "Privileged Role Administrator",
	RoleCloudApplicationAdministrator: "Cloud Application Administrator",
	RoleApplicationAdministrator:      "Application Administrator",
}

// adminRolesOf checks and normalises Config.AdminRoles; empty means the
// default.
func adminRolesOf(roles []string) ([]string, error) {
	if len(roles) == 0 {
		return slices.Clone(defaultAdminRoles), nil
	}
	out := make([]string, 0, len(roles))
	var bad []string
	for _, r := range roles {
		r = strings.ToLower(strings.TrimSpace(r))
		switch {
		case !looksLikeTenantID(r):
			bad = append(bad, fmt.Sprintf("%q", r))
		case !slices.Contains(out, r):
			out = append(out, r)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("Config.AdminRoles holds role template IDs, which are GUIDs, not %s", strings.Join(bad, ", "))
	}
	return out, nil
}

// ownGraphRetry bounds the retries of the connector's own Graph client
// (when Config.Graph is nil): a browser waits on the role check, an
// operator on a connection test.
var ownGraphRetry = graphclient.Retry{MaxAttempts: 3, MaxElapsed: 15 * time.Second, MaxRetryAfter: 5 * time.Second}

// roleCheckTimeout bounds the role check on any client, a shared one
// with a patient retry policy included: a browser is waiting.
const roleCheckTimeout = 15 * time.Second

// maxRolePages bounds the pages of directory roles read for one sign-in:
// Entra ID has about a hundred built-in roles and Graph pages memberOf by
// a hundred, so a longer answer is not an honest one.
const maxRolePages = 10

// rolesPath lists the directory roles of the user a delegated token acts
// for; delegated User.Read may read the signed-in user's memberships.
const rolesPath = "/me/memberOf/microsoft.graph.directoryRole"

// adminRole proves that the user an administrator's sign-in token acts
// for holds one of the configured admin roles, now: it reads the user's
// directory roles from this cloud's Microsoft Graph (every page, following
// nextLinks on Graph's origin only, so a page linking elsewhere is refused
// whatever the pages before it held) and returns the first configured role
// the user holds. A user holding none gets [ErrNotAdmin]; a Graph that
// cannot answer, a typed error, never an acceptance.
func (c *Connector) adminRole(ctx context.Context, accessToken string) (string, error) {
	if accessToken == "" {
		return "", errors.New("consent: the administrator's sign-in brought no access token to read their roles with")
	}
	tok := graph.TokenSourceFunc(func(context.Context) (*oauth2.Token, error) {
		return &oauth2.Token{AccessToken: accessToken, TokenType: "Bearer"}, nil
	})
	req := &graph.Request{Path: rolesPath, Query: url.Values{"$select": {"roleTemplateId"}}, Token: tok}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, roleCheckTimeout)
	defer cancel()
	held := map[string]bool{}
	unnamed := false
	for pages := 0; req != nil; pages++ {
		if pages == maxRolePages {
			return "", unavailable(fmt.Sprintf("Microsoft Graph listed the administrator's directory roles on more than %d pages", maxRolePages))
		}
		var page struct {
			Value []struct {
				RoleTemplateID string `json:"roleTemplateId"`
			} `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := c.graph.JSON(ctx, req, &page); err != nil {
			return "", rolesError(parent, err)
		}
		for _, r := range page.Value {
			if r.RoleTemplateID == "" {
				unnamed = true
			}
			held[strings.ToLower(r.RoleTemplateID)] = true
		}
		req = nil
		if page.NextLink != "" {
			// The client refuses a link off Graph's origin before sending.
			req = &graph.Request{URL: page.NextLink, Token: tok}
		}
	}
	return c.heldRole(slices.Collect(maps.Keys(held)), unnamed)
}

// heldRole returns the first configured admin role among held (role
// template IDs, any case), or [ErrNotAdmin]. unnamed says some of the
// account's roles came without their template IDs.
func (c *Connector) heldRole(held []string, unnamed bool) (string, error) {
	for _, r := range c.adminRoles {
		if slices.ContainsFunc(held, func(h string) bool { return strings.EqualFold(h, r) }) {
			return r, nil
		}
	}
	if unnamed {
		// Graph gives only the ID of an object the token may not read.
		return "", c.notAdmin("Microsoft Graph listed directory roles of the account without their role template IDs, so none could be checked")
	}
	return "", c.notAdmin("the account that signed in holds none of the roles that may grant this consent")
}

// notAdmin refuses an administrator's sign-in, naming the roles that would do.
func (c *Connector) notAdmin(desc string) *Error {
	names := make([]string, len(c.adminRoles))
	for i, r := range c.adminRoles {
		names[i] = roleNames[r]
		if names[i] == "" {
			names[i] = "the role with template ID " + r
		}
	}
	return &Error{Kind: ErrNotAdmin, Description: desc, Remediation: "Sign in with an account that holds one of these roles in the organisation: " +
		strings.Join(names, ", ") + " (a role that Privileged Identity Management makes eligible must be activated first); or ask such an administrator to start admin consent"}
}

// rolesError maps a failed read of the administrator's roles. The
// errors of the Graph client name no token and no query.
func rolesError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("consent: read the administrator's directory roles: %w", err)
	}
	const what = "the administrator's directory roles could not be read from Microsoft Graph"
	var ge *m365link.GraphError
	switch {
	case errors.As(err, &ge) && (errors.Is(ge, m365link.ErrUnavailable) || errors.Is(ge, m365link.ErrThrottled)):
		return unavailable(fmt.Sprintf("%s: it answered %d %s", what, ge.StatusCode, ge.Code))
	case ge != nil:
		return &Error{Kind: ErrRejected, Description: fmt.Sprintf("%s: it answered %d %s", what, ge.StatusCode, ge.Code),
			Remediation: "Check that the app registration has Microsoft Graph's delegated permission User.Read, then sign in again"}
	case errors.Is(err, m365link.ErrUntrustedLink):
		return &Error{Kind: ErrUnavailable, Description: what + ": its answer links elsewhere, and was not followed (" + err.Error() + ")",
			Remediation: "Try again; if it keeps happening, check what sits between the app and Microsoft Graph (proxies)"}
	case errors.Is(err, context.DeadlineExceeded):
		return unavailable(fmt.Sprintf("%s within %s", what, roleCheckTimeout))
	}
	return unavailable(what + ": " + err.Error())
}
