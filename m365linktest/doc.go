// Package m365linktest is a fake Microsoft 365 tenant for a host's own
// tests: Microsoft Graph and the Microsoft identity platform, in process,
// over TLS on loopback, with one app registered. No network, no
// credentials.
//
//	tenant := m365linktest.New(t)              // stopped when the test ends
//	alice := tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com"})
//	tenant.AddMessage(alice.UPN, "inbox", m365link.Message{Subject: "Quote", From: acmeSales})
//	engine, _ := m365sync.New(m365sync.Config{Client: tenant.Graph(), TenantID: tenant.ID(), ...})
//
// What every package needs to point at it: [Tenant.Cloud] (its identity
// platform and Graph), [Tenant.HTTPClient] (which trusts both),
// [Tenant.Graph] (a ready graphclient.Client with quick retries),
// [Tenant.ID], the app's [Tenant.ClientID] and [Tenant.ClientSecret],
// and ready configurations: [Tenant.TokensConfig], [Tenant.ConsentConfig],
// or the tenant's own [Tenant.Tokens] manager and [Tenant.Connector].
//
// The tenant is seeded in the library's own words: users with and without
// a mailbox, administrators holding directory roles, groups, folders,
// messages (m365link.Message), events (single, all-day, recurring with
// [Tenant.AddSeries]), contacts, and changes while it runs (update, move,
// delete). [Tenant.Generate] makes a realistic tenant of any size, with
// vendors to match mail against.
//
// Faults are injected by name ([Fault]: throttling with Retry-After, 503,
// 410 sync reset, dropped connections, truncated or malformed bodies, slow
// answers, paging links to a foreign origin), and [Tenant.Stats] counts
// the requests each mailbox saw, per route.
//
// Graph's change notifications work too: subscriptions made through the
// fake Graph (by package sync/notify, say) are validated against the
// host's endpoint, and every change the test makes is posted to them.
// [Tenant.Subscriptions] lists them, [Tenant.FireLifecycle] sends missed,
// subscriptionRemoved and reauthorizationRequired events,
// [Tenant.SetNotificationFaults] drops, delays or doubles notifications,
// and [Tenant.FlushNotifications] waits until they are out.
//
// A [Browser] stands in for a user's web browser: it completes user
// connect and the secure admin consent against a consent.Connector, or
// follows redirects through the host's own consent routes and the fake
// identity platform back to the host's callback. Switches make the
// identity platform refuse accounts the ways Entra ID does:
// [Tenant.RevokeConsent], [Tenant.BlockSignIn], [Tenant.RequireMFA].
//
// The fakes render Graph's JSON from their own model and share no code
// with the library's Graph client, so a wire bug in one cannot hide in the
// other. The surface is deliberately small; the library's own tests use it
// too, so it stays honest.
package m365linktest
