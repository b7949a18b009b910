package m365linktest

import (
	"slices"
	"strings"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/fakegraph"
	"github.com/m365link/m365link/internal/fakegraph/idp"
)

// User is a user of the tenant, known to Graph and to the identity
// platform alike.
type User struct {
	// ID is the user's object ID (a GUID); empty means generated.
	ID string
	// TenantID is set by [Tenant.AddUser].
	TenantID string
	// UPN is the sign-in name and mail address; empty means one made from
	// DisplayName on [Domain] ("Alice Smith" is alice.smith@contoso.com).
	UPN string
	// DisplayName is the user's name.
	DisplayName string
	// NoMailbox makes a user without an Exchange Online mailbox
	// (unlicensed): Graph's mail, calendar and contact routes answer 404
	// MailboxNotEnabledForRESTAPI for them.
	NoMailbox bool
	// Roles are the template IDs of the directory roles the user holds,
	// e.g. consent.RoleGlobalAdministrator. Graph lists them as the
	// user's directoryRoles; a user holding any may grant tenant-wide
	// consent at the identity platform.
	Roles []string
}

// Mailbox returns the user's mailbox as the sync engine names it.
func (u User) Mailbox() m365link.Mailbox {
	return m365link.Mailbox{TenantID: u.TenantID, UserID: u.ID, UPN: u.UPN, DisplayName: u.DisplayName}
}

// Account returns the user's delegated account as the tokens package
// names it.
func (u User) Account() m365link.Account { return u.Mailbox().Account() }

// Group is a directory group of the tenant.
type Group struct {
	// ID is the group's object ID; empty means generated.
	ID          string
	DisplayName string
	Mail        string
	Description string
}

// AddUser adds a user to the tenant's directory, with a mailbox (Inbox,
// Sent Items, Drafts, Deleted Items, Archive, Junk Email, a calendar and
// contacts) unless NoMailbox, and lets them sign in. It returns the user
// with generated fields filled.
func (t *Tenant) AddUser(u User) User {
	fu := t.graph.AddUser(t.id, fakegraph.User{ID: u.ID, UPN: u.UPN, DisplayName: u.DisplayName,
		MailEnabled: !u.NoMailbox, AccountEnabled: true, DirectoryRoles: slices.Clone(u.Roles)})
	u.ID, u.TenantID, u.UPN = fu.ID, fu.TenantID, fu.UPN
	u.Roles = slices.Clone(u.Roles)
	t.register(u)
	return u
}

// register lets u sign in and be found by ID or UPN.
func (t *Tenant) register(u User) {
	t.idp.AddUser(idp.User{TenantID: u.TenantID, ID: u.ID, UPN: u.UPN, Name: u.DisplayName, Admin: len(u.Roles) > 0})
	t.mu.Lock()
	defer t.mu.Unlock()
	t.users[strings.ToLower(u.ID)] = u
	t.users[strings.ToLower(u.UPN)] = u
}

// AddGroup adds a group whose members are users (by ID or UPN) or groups
// (by ID) added before; membership through nested groups is resolved.
func (t *Tenant) AddGroup(g Group, members ...string) Group {
	fg := t.graph.AddGroup(t.id, fakegraph.Group{ID: g.ID, DisplayName: g.DisplayName, Mail: g.Mail, Description: g.Description}, members...)
	g.ID = fg.ID
	return g
}

// RevokeConsent removes the app from the tenant, as an administrator does
// by deleting its enterprise application: app-only tokens fail with
// AADSTS700016, users' refresh tokens with AADSTS65001 (tokens reports
// reconnect required, consent withdrawn), and sign-ins of users who are
// not administrators come back to the app with consent_required, until an
// administrator consents again ([Browser.AdminConsent]). Access tokens
// already issued stay valid until they expire (see
// [Tenant.SetAccessTokenLifetime]).
func (t *Tenant) RevokeConsent() { t.idp.RevokeConsent(t.id, clientID) }

// BlockSignIn blocks (or, with false, unblocks) a user's sign-in, by ID or
// UPN, as an administrator does in the Entra admin center: refreshes fail
// with AADSTS50057 (reconnect required, user disabled), and a sign-in
// stops at the identity platform's error page: the browser gets a
// [*SignInError] and the app no callback.
func (t *Tenant) BlockSignIn(user string, blocked bool) {
	u := t.user(user)
	t.idp.DisableUser(u.TenantID, u.ID, blocked)
}

// RequireMFA makes (or, with false, stops making) Conditional Access ask a
// user, by ID or UPN, for multi-factor authentication, which the browser
// stand-in cannot give: refreshes fail with AADSTS50076 (reconnect
// required, interaction required), and a sign-in comes back to the app
// with that error (consent.ErrConditionalAccess). Turning it off stands
// for the user having met it.
func (t *Tenant) RequireMFA(user string, required bool) {
	u := t.user(user)
	t.idp.RequireMFA(u.TenantID, u.ID, required)
}
