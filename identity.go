package m365link

import "strings"

// Account identifies whose tokens are used: a user in a tenant (delegated
// access) or a tenant alone (application, "app-only" access). It is the key
// under which tokens are stored and the unit that can need reconnecting.
type Account struct {
	// TenantID is the Entra ID (Azure AD) directory ID, a GUID.
	TenantID string
	// UserID is the user's Entra object ID (a GUID). Empty for app-only.
	UserID string
}

// AppOnly reports whether a is an application (client credentials)
// connection for the whole tenant rather than a signed-in user.
func (a Account) AppOnly() bool { return a.UserID == "" }

// Key returns a stable string form of a: "tenant/user", or "tenant" for
// app-only. Tenant and user IDs are GUIDs, compared case-insensitively, so the
// key is lower-cased.
func (a Account) Key() string {
	if a.AppOnly() {
		return strings.ToLower(a.TenantID)
	}
	return strings.ToLower(a.TenantID) + "/" + strings.ToLower(a.UserID)
}

// String returns [Account.Key]; an Account holds no secrets.
func (a Account) String() string { return a.Key() }

// Mailbox identifies one Exchange Online mailbox: the user who owns it (or
// the shared mailbox itself) within a tenant.
type Mailbox struct {
	// TenantID is the Entra ID directory ID of the mailbox's tenant.
	TenantID string
	// UserID is the Entra object ID of the mailbox's user. Graph accepts it
	// in place of the UPN and, unlike the UPN, it never changes.
	UserID string
	// UPN is the user principal name (often, not always, the primary SMTP
	// address). It is informational: renames change it.
	UPN string
	// DisplayName is the name shown for the mailbox, informational.
	DisplayName string
}

// Key returns "tenant/user", lower-cased: the mailbox's stable identity for
// maps, cursors and leases.
func (m Mailbox) Key() string { return m.Account().Key() }

// Account returns the delegated account of the mailbox's own user.
func (m Mailbox) Account() Account { return Account{TenantID: m.TenantID, UserID: m.UserID} }

// String returns the UPN when known, else the key.
func (m Mailbox) String() string {
	if m.UPN != "" {
		return m.UPN
	}
	return m.Key()
}
