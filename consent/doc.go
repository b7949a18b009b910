// Package consent is the onboarding every product built on m365link goes
// through: an IT admin approves the app for the tenant once, then users
// connect in one click, or the admin runs a service (app-only) connection so
// no user has to.
//
//   - The permission catalogue ([Catalogue], [PlanFor]) explains every Graph
//     permission the library may use, delegated or application, whether an
//     admin must grant it and why, and computes the minimal set for the
//     features a host enables; [Plan] renders it as text, Markdown or HTML
//     for the admin page.
//   - Admin consent binds the tenant to a signature, never to the browser.
//     The v2.0 admin-consent callback names its tenant in a query parameter
//     anyone can edit, so the administrator signs in first:
//     [Connector.BeginAdminConsent] starts an OpenID Connect sign-in
//     (authorization code, PKCE, nonce); [Connector.CompleteAdminSignIn]
//     verifies the ID token (signature by a key from the identity platform's
//     discovery metadata, this cloud's issuer, this app as audience,
//     validity, nonce), reads the administrator's directory roles from
//     Microsoft Graph with the sign-in's own token and, only for a holder
//     of one of Config.AdminRoles (Global Administrator or Privileged Role
//     Administrator by default; anyone else gets [ErrNotAdmin]), returns
//     the admin-consent link of exactly the tenant the token names;
//     [Connector.CompleteAdminConsent] refuses a callback naming any other
//     tenant ([ErrTenant]) or a link no admin role was proven for. With
//     Config.VerifyAppOnly an app-only token then proves the consent. A
//     host that already holds a customer's tenant ID can skip the sign-in
//     with [Connector.AdminConsentURL]; its callback must name that tenant.
//   - [Connector.BeginConnect] and [Connector.CompleteConnect] run the
//     authorization code flow with PKCE (S256, a fresh verifier each time),
//     a single-use, expiring state bound to the host's session, and a nonce.
//     Forged, replayed, duplicated or mismatched callbacks are refused before
//     anything reaches the token endpoint; the ID token's nonce, issuer and
//     tenant are checked before the account's tokens are stored through the
//     tokens package.
//   - [Connector.Complete] finishes a callback of any flow, for hosts that
//     register one redirect URI for everything.
//   - Every failure an admin or user can hit (consent missing, assignment
//     required, Conditional Access, app not in tenant, admin approval
//     required, declined) is a typed *[Error] with a remediation in plain words.
//   - [Connector.TestConnection] proves what an app-only connection can do,
//     on the process's shared graphclient.Client, in a [ConnectionReport]
//     whose every failed [Check] has a typed error and a remediation. To
//     disconnect an account or a tenant, tokens.Manager.Disconnect removes
//     its tokens; [RevokeInstructions] tells the admin how to remove the
//     app on Microsoft's side.
//   - [Connector.Handler] serves all of it as HTTP routes with safe
//     defaults: a browser-binding cookie (HttpOnly, Secure, SameSite=Lax),
//     no open redirects, 4xx for the browser's bad input and 5xx for
//     failures on the host's side ([HTTPStatus]).
//
// # The admin-consent flow
//
//	GET /m365/admin-consent          BeginAdminConsent → Microsoft sign-in (openid profile User.Read)
//	GET /m365/callback?code=…        CompleteAdminSignIn: redeem, verify the ID token → tid,
//	                                 GET graph/me/memberOf/microsoft.graph.directoryRole → admin role
//	  → https://login.microsoftonline.com/{tid}/v2.0/adminconsent?…
//	GET /m365/callback?admin_consent=True&tenant={tid}
//	                                 CompleteAdminConsent: tenant == tid, then an app-only token
//
// # Pending attempts and several instances
//
// Between the redirect to Microsoft and the callback an attempt waits in a
// [StateStore], and each callback is accepted once. [MemoryStates] (the
// default) and the single-use memory of [SignedStates] hold for one process
// only: a host running several instances shares a database-backed store,
// the sqlstore package's ConsentStates, so a callback consumed by one
// instance is refused by every other.
//
// The Microsoft cloud (global, US Government L4 or L5, China) is one
// [m365link.Cloud] value, set on the tokens manager (tokens.Config.Cloud)
// and taken from it: authorize and admin-consent links go to its identity
// platform, scopes name its Graph, and only its issuer's ID tokens are
// accepted. A shared graphclient.Client (Config.Graph) reads
// administrators' roles, so those calls pace with every other package's.
// Personal Microsoft accounts connect through the delegated flow with the
// Common or Consumers authority; app-only access is refused for them.
package consent
