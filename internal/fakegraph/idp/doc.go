// Package idp is an in-process fake of the Microsoft identity platform
// (login.microsoftonline.com) for tests: OpenID metadata and keys, the
// v2.0 token endpoint (authorization code with PKCE, refresh token with
// rotation, client credentials) and controls to revoke, expire or break
// grants the ways Entra ID does (AADSTS codes), with counters tests assert on.
//
// MSAL insists on https, so the server is an httptest TLS server; give MSAL
// [Server.Client] through confidential.WithHTTPClient and
// [Server.Authority] as its authority, with instance discovery off.
package idp
