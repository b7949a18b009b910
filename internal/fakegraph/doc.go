// Package fakegraph is an in-process fake of Microsoft Graph v1.0 for tests
// and the offline quickstart.
//
// A [Server] runs on net/http/httptest ([New], or [NewTLS] for clients
// that insist on https) and holds a small model: tenants, users, groups,
// and for each mail-enabled user a mailbox with mail folders, messages, a
// calendar and contacts. Tests build the model with the Add, Update, Move
// and Delete methods, or in bulk with [Seed], and point the client under
// test at [Server.URL]. The fake shares no code with the client: it renders
// Graph's JSON from its own model, so a wire bug in one cannot hide in the
// other.
//
// # What it serves
//
// Under /v1.0, with path segments matched case-insensitively, users named
// by ID or UPN, and OData key syntax (users('id'), mailFolders('inbox'))
// accepted everywhere:
//
//   - /users, /users/{id}, /groups, /groups/{id}, /groups/{id}/members and
//     /groups/{id}/transitiveMembers, with $select;
//   - /users/{id}/memberOf and /me/memberOf (the user a delegated token
//     acts for, see [Server.SetTokenUser]): the user's groups and the
//     directory roles of [User].DirectoryRoles, cast to
//     microsoft.graph.group or microsoft.graph.directoryRole if asked;
//   - /users/{id}/mailFolders[/{id}[/childFolders]], well-known names
//     included, with item counts;
//   - /users/{id}/messages/{id}, /users/{id}/mailFolders/{id}/messages
//     (newest first, $top/$skip paging);
//   - /users/{id}/mailFolders/{id}/messages/delta with $select and
//     $filter=receivedDateTime ge|gt ...;
//   - /users/{id}[/calendars/{id}]/calendarView[/delta] with
//     startDateTime and endDateTime, /users/{id}/events/{id};
//   - /users/{id}[/contactFolders/{id}]/contacts[/delta];
//   - event writes (POST, PATCH, DELETE, cancel), find by extended
//     property, instances, /users/{id}/calendar, getSchedule,
//     findMeetingTimes, mailboxSettings and places: see calendar_write.go,
//     availability.go and places.go;
//   - POST /$batch.
//
// Every request needs an Authorization: Bearer header (any non-empty token
// unless [Server.SetTokenValidator] says otherwise; [Server.SetTokenTenant]
// and [Server.SetTokenUser] say whose it is). Responses are gzipped
// when the client accepts it, and carry request-id and client-request-id
// headers; errors have Graph's body shape. Dates follow Graph: messages in
// RFC 3339 with Z, event start and end as dateTime with seven fractional
// digits and a separate timeZone (UTC unless Prefer: outlook.timezone).
//
// # Delta
//
// Delta queries have Graph's semantics, built on a per-mailbox change
// sequence: an initial round returns what a folder holds, in pages of
// Prefer: odata.maxpagesize (else $top, else [WithMaxPageSize]); every page
// but the last has an @odata.nextLink with a $skiptoken, the last an
// @odata.deltaLink with a $deltatoken; a round started from that deltaLink
// returns what changed since, with {"@removed":{"reason":"deleted"}} for
// items deleted or moved out. Tokens are opaque, carry the original query
// options, and survive URL escaping. Links are absolute, on the server's
// origin, and shaped differently from the request
// (users('{id}')/mailFolders('{id}')/messages/delta()?$skiptoken=...), so
// clients must follow them as given. A round works on a snapshot taken by
// its first page: changes made while it runs are delivered by the next
// round. [Server.InvalidateDeltaTokens] makes every outstanding token of a
// mailbox answer 410 Gone, as Graph does when a sync state is lost.
// A receivedDateTime-filtered message round stops silently after
// [WithFilteredDeltaCap] messages (5,000), as Graph's does.
//
// # Faults, limits and accounting
//
// [Server.Inject] spoils chosen requests: 429 and 503 with any Retry-After,
// 504, sync resets, connection resets, truncated or malformed bodies, slow
// responses and next links to a foreign origin. [WithLimits] enforces
// Outlook's per-mailbox concurrency and rate limits. [Server.Stats] counts
// requests per mailbox, including the most that were ever in flight at
// once, and [Server.Requests] records every request with the headers it
// carried.
//
// # Change notifications
//
// /subscriptions are served with Graph's validation handshake, and every
// model change is posted to the matching subscriptions; see
// subscriptions.go, [Server.SetNotificationFaults] and [Server.FireLifecycle].
//
// The model methods panic on references to things that do not exist, as a
// broken test fixture should.
package fakegraph
