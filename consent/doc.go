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
//   - [Connector.AdminConsentURL] and [Connector.CompleteAdminConsent] run the
//     v2.0 admin-consent round trip. The callback's tenant can be forged, so
//     with Config.VerifyAppOnly the consent is proven by an app-only token.
//   - [Connector.BeginConnect] and [Connector.CompleteConnect] run the
//     authorization code flow with PKCE (S256, a fresh verifier each time),
//     a single-use, expiring state bound to the host's session, and a nonce.
//     Forged, replayed, duplicated or mismatched callbacks are refused before
//     anything reaches the token endpoint; the ID token's nonce, issuer and
//     tenant are checked before the account's tokens are stored through the
//     tokens package.
//   - Every failure an admin or user can hit (consent missing, assignment
//     required, Conditional Access, app not in tenant, admin approval
//     required, declined) is a typed *[Error] with a remediation in plain words.
//   - [Connector.TestConnection] proves what an app-only connection can do;
//     [Connector.Disconnect] removes an account or a tenant cleanly.
//   - [Connector.Handler] serves all of it as HTTP routes with safe
//     defaults: a browser-binding cookie (HttpOnly, Secure, SameSite=Lax)
//     and no open redirects.
//
// National clouds are a [Cloud] value (Global, USGovL4, USGovL5, China).
// Personal Microsoft accounts connect through the delegated flow with the
// Common or Consumers authority; app-only access is refused for them.
package consent
