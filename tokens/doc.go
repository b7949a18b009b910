// Package tokens keeps Microsoft 365 tokens in the host's database, safely.
//
// The host implements [Store] (or uses [Memory], or the sqlstore package's
// Tokens on SQLite or PostgreSQL): opaque blobs per account with
// compare-and-swap.
// [NewEncrypted] seals every blob with AES-256-GCM under a [KeyRing],
// bound to its tenant, user, purpose and version in the store, so a blob
// copied to another account's row, or an older blob of the same entry
// written back, does not decrypt; [Rewrap] moves blobs to a new primary
// key (and to the current format). A delegated account whose stored grant
// does not decrypt needs reconnecting, with
// [m365link.ReasonStoredGrantUnreadable].
//
// A [Manager] hands out one [Source] per account, for one Microsoft cloud
// (Config.Cloud, an m365link.Cloud: the identity platform tokens come
// from, and the Graph app-only tokens are for). Tokens come from MSAL's
// confidential client (authorization code with PKCE via
// [Manager.RedeemCode], silent refresh, client credentials for app-only
// accounts), with MSAL's cache persisted through the Store: a refresh, and
// the refresh token it rotates, is saved before the new access token is
// returned. Source.Token serves a valid token from memory in tens of
// nanoseconds; when it is due, exactly one refresh runs per account, in the
// process (single flight) and across processes (a claim in the Store that
// its holder renews while the refresh runs, however slow the identity
// platform, and only its holder releases).
// When the grant is gone — revoked, expired after inactivity, password
// changed, MFA or Conditional Access required — Token returns a
// *m365link.ReconnectError with the reason and AADSTS code and keeps
// failing fast until the account connects again. Transient failures of the
// token endpoint are retried and never reported as reconnect-required;
// when they outlast the retries they match m365link.ErrUnavailable, and a
// network failure keeps its cause (without the request's URL). A redirect
// from the identity platform is never followed, since it would resend the
// client secret and the refresh token or code: the request fails with
// [ErrRedirectRefused], also on an *http.Client the host passed in.
//
// Hosts that obtained tokens with their own OAuth stack use [External]
// instead: it refreshes with golang.org/x/oauth2 and persists every rotation.
// [Manager.Disconnect] disconnects an account (or an app-only tenant),
// whichever of the two holds its tokens.
//
// Tokens, refresh tokens and client secrets never appear in errors, logs
// or String output.
package tokens
