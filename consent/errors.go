package consent

import (
	"errors"
	"strconv"
	"strings"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/aadsts"
)

// Sentinels for errors.Is. Every *[Error] matches exactly one of them,
// and the m365link sentinel its kind belongs to, where there is one (see
// [Error.Is]): a host that handles m365link.ErrConsentRequired or
// m365link.ErrUnavailable for every package handles these too.
var (
	// ErrInvalidCallback: a callback that is forged, replayed, expired,
	// duplicated, for another session or otherwise malformed. Nothing was
	// sent to the token endpoint. Start the flow again.
	ErrInvalidCallback = errors.New("consent: invalid callback")
	// ErrAccessDenied: the user or admin declined (access_denied, AADSTS65004).
	// Also matches m365link.ErrConsentRequired.
	ErrAccessDenied = errors.New("consent: access denied")
	// ErrConsentRequired: a permission has not been granted (AADSTS65001).
	// Also matches m365link.ErrConsentRequired.
	ErrConsentRequired = errors.New("consent: consent required")
	// ErrAdminApprovalRequired: only an admin can grant what the app asks
	// (AADSTS90094, AADSTS90093 for a user). Also matches
	// m365link.ErrConsentRequired.
	ErrAdminApprovalRequired = errors.New("consent: admin approval required")
	// ErrNotAdmin: the account that signed in for admin consent holds none
	// of Config.AdminRoles, or the one that answered the admin-consent
	// link may not grant tenant-wide consent (AADSTS90093, AADSTS90094).
	// Also matches m365link.ErrForbidden.
	ErrNotAdmin = errors.New("consent: not an administrator")
	// ErrUserNotAssigned: "Assignment required" is on and the user is not
	// assigned to the app (AADSTS50105). Also matches m365link.ErrForbidden.
	ErrUserNotAssigned = errors.New("consent: user not assigned to the app")
	// ErrConditionalAccess: a Conditional Access policy blocked sign-in
	// (AADSTS53003), or multi-factor authentication is needed (AADSTS50076,
	// AADSTS50079): the user must sign in again and meet it. Also matches
	// m365link.ErrReconnectRequired, as the tokens package's refusals for
	// the same codes do.
	ErrConditionalAccess = errors.New("consent: blocked by conditional access")
	// ErrAppNotInTenant: the app has no service principal in the tenant
	// (AADSTS700016): nobody consented, or it was deleted. Also matches
	// m365link.ErrConsentRequired.
	ErrAppNotInTenant = errors.New("consent: app not found in tenant")
	// ErrTenant: the tenant does not exist, is disabled, or is not the one
	// expected (wrong tenant in the ID token, AADSTS90002, AADSTS5000225).
	ErrTenant = errors.New("consent: tenant not usable")
	// ErrPersonalAccount: personal Microsoft accounts cannot be used for
	// app-only (service) connections.
	ErrPersonalAccount = errors.New("consent: personal accounts cannot use app-only access")
	// ErrUnavailable: a passing fault of the identity platform, or of
	// Microsoft Graph while an administrator's roles are read; retry later.
	// Also matches m365link.ErrUnavailable.
	ErrUnavailable = errors.New("consent: Microsoft service unavailable")
	// ErrRejected: any other error the identity platform returned, or
	// Microsoft Graph when asked for an administrator's roles.
	ErrRejected = errors.New("consent: rejected by Microsoft")
)

// Error is a failed consent or connect step, with what to do about it.
type Error struct {
	// Kind is the sentinel it matches.
	Kind error
	// OAuthError is the OAuth error code ("access_denied", "invalid_grant").
	OAuthError string
	// Code is the AADSTS number, 0 when none was given.
	Code int
	// Description is the identity platform's description, or ours.
	Description string
	// Remediation tells an admin or user what to do, in plain words.
	Remediation string
}

// Error gives the kind, the AADSTS code and the remediation.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	if e.Code != 0 {
		b.WriteString(" (AADSTS")
		b.WriteString(strconv.Itoa(e.Code))
		b.WriteByte(')')
	}
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	if e.Remediation != "" {
		if !strings.HasSuffix(e.Description, ".") {
			b.WriteByte('.')
		}
		b.WriteByte(' ')
		b.WriteString(e.Remediation)
	}
	return b.String()
}

// rootOf maps a kind to the m365link sentinel it belongs to. Kinds not
// listed (a refused callback, a wrong tenant, a personal account, any
// other refusal) have none: they are about the flow, not about Graph.
var rootOf = map[error]error{
	ErrAccessDenied:          m365link.ErrConsentRequired,
	ErrConsentRequired:       m365link.ErrConsentRequired,
	ErrAdminApprovalRequired: m365link.ErrConsentRequired,
	ErrAppNotInTenant:        m365link.ErrConsentRequired,
	ErrNotAdmin:              m365link.ErrForbidden,
	ErrUserNotAssigned:       m365link.ErrForbidden,
	ErrConditionalAccess:     m365link.ErrReconnectRequired,
	ErrUnavailable:           m365link.ErrUnavailable,
}

// Is matches the error's kind, the m365link sentinel the kind belongs to,
// and the wider sentinel that one belongs to, as a GraphError does
// (consent required is forbidden).
func (e *Error) Is(target error) bool {
	if target == e.Kind {
		return true
	}
	root := rootOf[e.Kind]
	return root != nil && (target == root || target == m365link.ErrForbidden && root == m365link.ErrConsentRequired)
}

func invalid(desc string) *Error {
	return &Error{Kind: ErrInvalidCallback, Description: desc, Remediation: "Start connecting again from the app"}
}

type remedy struct {
	kind error
	text string
}

var remedies = map[int]remedy{
	65001:   {ErrConsentRequired, "An admin must grant the app's permissions for the organisation (the admin consent link), or the user must accept them when signing in"},
	65004:   {ErrAccessDenied, "The user declined the permissions. Connect again and accept them, or ask an admin to consent for the organisation"},
	90093:   {ErrAdminApprovalRequired, "Your organisation does not let users grant these permissions. Ask an administrator to open the admin consent link"},
	90094:   {ErrAdminApprovalRequired, "These permissions need an administrator. Ask an administrator to open the admin consent link, then connect again"},
	50105:   {ErrUserNotAssigned, "In Entra ID > Enterprise applications > this app > Users and groups, assign the user (or their group), or turn off \"Assignment required\""},
	53003:   {ErrConditionalAccess, "A Conditional Access policy blocked the sign-in. An admin can see which one in the Entra sign-in logs and exclude the app or meet its conditions (compliant device, location)"},
	700016:  {ErrAppNotInTenant, "The app is not registered in this organisation. An administrator must open the admin consent link first"},
	500011:  {ErrAppNotInTenant, "Microsoft Graph is not available in this tenant, or the app asked for an unknown resource. Check the cloud (global, US Gov, China) the app is configured for"},
	90002:   {ErrTenant, "The organisation was not found. Check the tenant ID or domain, and the cloud the app is configured for"},
	5000225: {ErrTenant, "This organisation's directory is disabled or blocked. Its administrator must contact Microsoft"},
	50020:   {ErrTenant, "This account cannot sign in here: use a work or school account of the organisation, or ask the admin to invite it"},
	7000215: {ErrRejected, "The app's client secret was refused. Check the secret the app is configured with against the app registration's Certificates & secrets"},
	7000222: {ErrRejected, "The app's client secret has expired. Add a new one under the app registration's Certificates & secrets and configure the app with it"},
	700027:  {ErrRejected, "The app's certificate was refused. Upload the certificate the app signs with to the app registration's Certificates & secrets"},
	65005:   {ErrRejected, "The app asks for a permission its registration does not declare. Add it under API permissions in the app registration"},
	70011:   {ErrRejected, "The app asked for an invalid scope. Check the permissions the host requests"},
	90090:   {ErrUnavailable, "A passing problem at Microsoft. Try again in a minute"},
	50076:   {ErrConditionalAccess, "Multi-factor authentication is required. Connect again and complete it"},
	50079:   {ErrConditionalAccess, "The user must register for multi-factor authentication first, then connect again"},
	54005:   {ErrInvalidCallback, "The authorization code was already redeemed (the callback was opened twice or replayed). Start connecting again"},
	501481:  {ErrInvalidCallback, "The sign-in did not match this browser session. Start connecting again"},
}

// callbackError is the error a callback reports (error, error_description).
func callbackError(p map[string]string) *Error {
	code, desc := aadsts.Parse(p["error_description"])
	return oauthError(p["error"], code, desc)
}

// oauthError is the error for an error answer of the identity platform:
// its OAuth error, AADSTS code (0 for none) and description, already
// parsed.
func oauthError(oauthErr string, code int, desc string) *Error {
	e := &Error{OAuthError: oauthErr, Code: code, Description: desc}
	if r, ok := remedies[code]; ok {
		e.Kind, e.Remediation = r.kind, r.text
		return e
	}
	switch oauthErr {
	case "access_denied", "consent_required":
		e.Kind, e.Remediation = ErrAccessDenied, "The sign-in was cancelled or permissions were declined. Connect again and accept them"
	case "temporarily_unavailable", "server_error":
		e.Kind, e.Remediation = ErrUnavailable, "A passing problem at Microsoft. Try again in a minute"
	case "interaction_required", "login_required":
		e.Kind, e.Remediation = ErrConditionalAccess, "The sign-in needs the user at a browser. Connect again"
	default:
		e.Kind, e.Remediation = ErrRejected, "See the description; the admin can look up the AADSTS code in the Entra sign-in logs"
	}
	return e
}
